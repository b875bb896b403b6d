//! The backends the tests run against: the embedded default, and DynamoDB
//! + SNS on moto.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

use shared::adapters::clock;
use shared::adapters::outbox::OutboxGateway;
use shared::adapters::sqlite::SqliteStore;
use shared::domain::E164;
use shared::ports::{Admin, Store};
use shared::service::config::Config;
use shared::service::{Policy, Service};

use crate::gateway::{OutboxReader, SentReader, SentSms, TestGateway};
use crate::moto;

/// A store, a gateway and the service over them.
pub struct Backend {
    pub name: &'static str,
    pub store: Arc<dyn Store>,
    pub admin: Arc<dyn Admin>,
    pub gateway: Arc<TestGateway>,
    pub reader: Arc<dyn SentReader>,
    pub policy: Policy,
    /// The embedded outbox, to mark numbers opted out.
    pub outbox: Option<Arc<OutboxGateway>>,
    /// The embedded store's SQLite file.
    pub store_path: Option<PathBuf>,
}

impl Backend {
    pub fn service(&self) -> Service {
        Service::new(self.store.clone(), self.gateway.clone(), self.policy.clone(), clock::system())
    }

    /// The service with a clock the test moves (epoch seconds).
    pub fn service_at(&self, clock: &Arc<AtomicI64>) -> Service {
        self.service().with_clock(clock.clone())
    }

    /// Makes `number` an opted-out destination at this backend's provider.
    /// Moto answers "opted out" for every number ending in 99.
    pub async fn opt_out(&self, number: &str) {
        match &self.outbox {
            Some(outbox) => outbox.set_opted_out(&E164::parse(number).unwrap(), true).await.unwrap(),
            None => assert!(number.ends_with("99"), "moto opts out only numbers ending in 99"),
        }
    }

    /// What the provider really holds of what was sent through this backend.
    pub async fn sent(&self) -> Vec<SentSms> {
        let ids: Vec<String> = self.gateway.accepted().into_iter().map(|s| s.id).collect();
        let sent = self.reader.read(&ids).await;
        assert_eq!(sent.len(), ids.len(), "{}: the provider does not hold every SMS accepted", self.name);
        sent
    }

    pub async fn apply(&self, config_json: &str) {
        let config = Config::from_json(config_json).expect("valid configuration");
        let plan = config.plan(&self.admin.keys().await.unwrap(), 0);
        self.admin.apply(&plan.snapshot, &plan.delete_keys).await.unwrap();
    }
}

/// A fresh file under the system's temp dir.
pub fn temp_path(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("sms-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}-{n}.db"));
    let _ = std::fs::remove_file(&path);
    path
}

/// The embedded default: SQLite store and outbox in one fresh file.
pub fn embedded() -> Backend {
    let path = temp_path("embedded");
    let store = Arc::new(SqliteStore::open(&path).unwrap());
    let outbox = Arc::new(OutboxGateway::open(&path, false, clock::system()).unwrap());
    Backend {
        name: "embedded",
        store: store.clone(),
        admin: store,
        gateway: Arc::new(TestGateway::new(outbox.clone())),
        reader: Arc::new(OutboxReader(outbox.clone())),
        policy: Policy::default(),
        outbox: Some(outbox),
        store_path: Some(path),
    }
}

/// Every backend the tests run against: the embedded default, and DynamoDB
/// and SNS on moto when it is running (required under `CI=true`).
pub async fn backends() -> Vec<Backend> {
    backends_on(moto::endpoint()).await
}

/// As [`backends`], with moto's second server ([`moto::solo_endpoint`]),
/// for the one test that sends thousands of requests.
pub async fn backends_solo() -> Vec<Backend> {
    backends_on(moto::solo_endpoint()).await
}

async fn backends_on(moto_endpoint: Option<String>) -> Vec<Backend> {
    let mut all = vec![embedded()];
    if let Some(aws) = moto::backend(moto_endpoint).await {
        all.push(aws);
    }
    all
}
