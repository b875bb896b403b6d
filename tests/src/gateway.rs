//! A gateway wrapper that records what it accepted and can be told to
//! fail, and how each backend's SMS are read back from its provider.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use shared::adapters::outbox::OutboxGateway;
use shared::domain::E164;
use shared::ports::{GatewayError, OutgoingSms, SmsGateway};

/// One SMS as the gateway behind a backend received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    pub id: String,
    pub from: String,
    pub to: String,
    pub text: String,
}

/// Wraps a real gateway: records what it accepted, and can be told to fail.
pub struct TestGateway {
    inner: Arc<dyn SmsGateway>,
    accepted: Mutex<Vec<SentSms>>,
    /// Sends to fail before letting them through.
    fail_next: AtomicUsize,
    /// Fail every n-th send (0: never), for fault-injection runs.
    fail_every: AtomicUsize,
    /// Destinations whose sends fail.
    fail_to: Mutex<Vec<String>>,
    /// Sends the provider refuses (rather than cannot be reached).
    reject_next: AtomicUsize,
    /// Wait this long (ms) before each send: keeps a request in flight.
    slow_ms: AtomicUsize,
    /// The next send waits for this before it goes on.
    hold: Mutex<Option<Arc<tokio::sync::Notify>>>,
    attempts: AtomicUsize,
}

impl TestGateway {
    pub fn new(inner: Arc<dyn SmsGateway>) -> Self {
        TestGateway {
            inner,
            accepted: Mutex::new(Vec::new()),
            fail_next: AtomicUsize::new(0),
            fail_every: AtomicUsize::new(0),
            fail_to: Mutex::new(Vec::new()),
            reject_next: AtomicUsize::new(0),
            slow_ms: AtomicUsize::new(0),
            hold: Mutex::new(None),
            attempts: AtomicUsize::new(0),
        }
    }

    /// The next send waits until the returned gate is opened (`notify_one`).
    pub fn hold_next(&self) -> Arc<tokio::sync::Notify> {
        let gate = Arc::new(tokio::sync::Notify::new());
        *self.hold.lock().unwrap() = Some(gate.clone());
        gate
    }

    pub fn fail_next(&self, n: usize) {
        self.fail_next.store(n, Ordering::SeqCst);
    }

    pub fn fail_every(&self, n: usize) {
        self.fail_every.store(n, Ordering::SeqCst);
    }

    pub fn reject_next(&self, n: usize) {
        self.reject_next.store(n, Ordering::SeqCst);
    }

    pub fn slow(&self, ms: usize) {
        self.slow_ms.store(ms, Ordering::SeqCst);
    }

    pub fn fail_to(&self, numbers: &[&str]) {
        *self.fail_to.lock().unwrap() = numbers.iter().map(|n| n.to_string()).collect();
    }

    pub fn accepted(&self) -> Vec<SentSms> {
        self.accepted.lock().unwrap().clone()
    }

    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl SmsGateway for TestGateway {
    fn provider(&self) -> &'static str {
        self.inner.provider()
    }

    async fn send(&self, sms: OutgoingSms<'_>) -> Result<String, GatewayError> {
        let n = self.attempts.fetch_add(1, Ordering::SeqCst) + 1;
        let gate = self.hold.lock().unwrap().take();
        if let Some(gate) = gate {
            gate.notified().await;
        }
        let every = self.fail_every.load(Ordering::SeqCst);
        let injected = self.fail_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1)).is_ok()
            || (every > 0 && n.is_multiple_of(every))
            || self.fail_to.lock().unwrap().iter().any(|t| t == sms.to.as_str());
        if injected {
            return Err(GatewayError::Unavailable("injected failure".to_owned()));
        }
        if self.reject_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| v.checked_sub(1)).is_ok() {
            return Err(GatewayError::Rejected("injected rejection".to_owned()));
        }
        let slow = self.slow_ms.load(Ordering::SeqCst);
        if slow > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(slow as u64)).await;
        }
        let id = self.inner.send(sms).await?;
        self.accepted.lock().unwrap().push(SentSms {
            id: id.clone(),
            from: sms.from.to_string(),
            to: sms.to.to_string(),
            text: sms.text.as_str().to_owned(),
        });
        Ok(id)
    }

    async fn opted_out(&self, to: &E164) -> Result<bool, GatewayError> {
        self.inner.opted_out(to).await
    }
}

/// Reads back, from the provider itself, the SMS a backend sent.
#[async_trait]
pub trait SentReader: Send + Sync {
    /// The SMS the provider holds with these ids.
    async fn read(&self, ids: &[String]) -> Vec<SentSms>;
}

/// The local outbox, read back.
pub struct OutboxReader(pub Arc<OutboxGateway>);

#[async_trait]
impl SentReader for OutboxReader {
    async fn read(&self, ids: &[String]) -> Vec<SentSms> {
        let all = self.0.list(usize::MAX).await.unwrap();
        ids.iter()
            .filter_map(|id| all.iter().find(|e| &e.id == id))
            .map(|e| SentSms { id: e.id.clone(), from: e.from.clone(), to: e.to.clone(), text: e.text.clone() })
            .collect()
    }
}
