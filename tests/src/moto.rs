//! DynamoDB and SNS on a local moto server, over the real wire protocol.
//!
//! `scripts/with-moto.sh` starts moto outside the tests and exports
//! `MOTO_ENDPOINT`. Without it the moto part of a test is skipped with a
//! line on stderr, except under `CI=true`, where it panics: in CI these
//! tests must run.
//!
//! One server serves every test (and every test binary) of a run, so each
//! test gets its own table, and what is read back is filtered by something
//! the test owns: its table, its destination numbers, the message ids its
//! gateway received.
//!
//! Moto's request recorder is switched on before the first gateway exists
//! and is never reset or stopped: it is the only place moto keeps an SMS's
//! message attributes (the origination number), which [`sent_sms`] needs
//! for every SMS of the run. Request counts come from the same recording,
//! after a marker request ([`Moto::mark`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::config::SharedHttpClient;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::Method;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use shared::adapters::dynamodb::DynamoStore;
use shared::adapters::sns::{ORIGINATION_NUMBER, SnsGateway};
use shared::service::Policy;

/// Moto's endpoint, or `None` (with a line saying so) when it is not running.
/// Panics under `CI=true`: there the moto tests must not be skipped.
pub fn endpoint() -> Option<String> {
    match endpoint_in("MOTO_ENDPOINT") {
        Some(e) => Some(e),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("MOTO_ENDPOINT is not set and CI=true: run the tests under scripts/with-moto.sh")
        }
        _ => {
            eprintln!("MOTO_ENDPOINT is not set: skipping DynamoDB + SNS on moto (run under scripts/with-moto.sh)");
            None
        }
    }
}

/// An SDK configuration for moto: test credentials, us-east-1, its endpoint.
/// Loaded like the functions load theirs (`aws_config::defaults`).
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    loader(endpoint).load().await
}

/// An SDK configuration for any endpoint (moto, or a fake one), with these
/// timeouts, as `Settings::aws` builds the functions' configuration.
pub async fn sdk_config_with(endpoint: &str, timeouts: shared::startup::AwsTimeouts) -> SdkConfig {
    loader(endpoint).timeout_config(timeouts.sdk()).load().await
}

/// As [`sdk_config`], signing with this access key id: the requests it
/// sends can be told apart in the recording ([`Recorded::access_key`]).
pub async fn sdk_config_as(endpoint: &str, access_key: &str) -> SdkConfig {
    loader(endpoint).credentials_provider(Credentials::new(access_key, "testing", None, None, "moto")).load().await
}

/// As [`sdk_config`], over this HTTP client (its own trust roots).
pub async fn sdk_config_over(endpoint: &str, http: SharedHttpClient) -> SdkConfig {
    loader(endpoint).http_client(http).load().await
}

fn loader(endpoint: &str) -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(shared::adapters::aws::http_client(&shared::adapters::aws::TrustRoots::amazon()))
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
}

/// A table name no other test of this run (or an earlier run against the
/// same server) uses.
pub fn unique_table_name() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("sms-test-{}-{}-{nanos}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

/// A fresh table on moto and the production adapters over it.
pub struct Moto {
    pub endpoint: String,
    pub aws: SdkConfig,
    pub table: String,
    pub store: Arc<DynamoStore>,
    pub gateway: Arc<SnsGateway>,
}

/// The second server `scripts/with-moto.sh` starts, for a test that sends
/// thousands of requests: on the shared one (which serves one request at a
/// time) it would hold up every other test of the run. The shared server
/// when there is no second one.
pub fn solo_endpoint() -> Option<String> {
    endpoint_in("MOTO_SOLO_ENDPOINT").or_else(endpoint)
}

/// The address in this variable, without a trailing slash; `None` when unset or blank.
fn endpoint_in(variable: &str) -> Option<String> {
    let value = std::env::var(variable).ok()?;
    Some(value.trim().trim_end_matches('/').to_owned()).filter(|e| !e.is_empty())
}

/// Connects to moto and creates a fresh table; `None` when moto is not
/// running (see [`endpoint`]).
pub async fn connect() -> Option<Moto> {
    connect_to(endpoint()?).await
}

/// As [`connect`], on this server.
pub async fn connect_to(endpoint: String) -> Option<Moto> {
    // Before any gateway exists: the recording must hold every Publish.
    call(Method::POST, &format!("{endpoint}/moto-api/recorder/start-recording")).await;
    let aws = sdk_config(&endpoint).await;
    let table = unique_table_name();
    let store = DynamoStore::new(&aws, &table);
    store.create_table().await.unwrap_or_else(|e| panic!("creating table {table} on moto at {endpoint}: {e}"));
    Some(Moto {
        gateway: Arc::new(SnsGateway::new(&aws, shared::adapters::clock::system())),
        store: Arc::new(store),
        endpoint,
        aws,
        table,
    })
}

impl Moto {
    /// The service as a function's cold start builds it over this table
    /// (`Settings::from_lookup` with `SMS_TABLE_NAME` and `env`): the
    /// configuration cache, the opt-out verdicts, the pre-warm. Each call
    /// is a new instance, with caches and rate slots of its own.
    pub async fn instance(&self, env: &[(&str, &str)]) -> shared::service::Service {
        let settings = shared::startup::Settings::from_lookup(|name| {
            if name == "SMS_TABLE_NAME" {
                return Some(self.table.clone());
            }
            env.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
        })
        .expect("settings");
        settings.aws_service::<shared::startup::needs::All>(&self.aws, &self.table).await
    }
}

/// The DynamoDB + SNS backend for the shared integration tests, on this
/// server ([`endpoint`] or [`solo_endpoint`]).
pub async fn backend(endpoint: Option<String>) -> Option<crate::Backend> {
    let moto = connect_to(endpoint?).await?;
    Some(crate::Backend {
        name: "moto (DynamoDB + SNS)",
        store: moto.store.clone(),
        admin: moto.store.clone(),
        gateway: Arc::new(crate::TestGateway::new(moto.gateway.clone())),
        reader: Arc::new(MotoReader { endpoint: moto.endpoint }),
        policy: Policy::default(),
        outbox: None,
        store_path: None,
    })
}

struct MotoReader {
    endpoint: String,
}

#[async_trait]
impl crate::SentReader for MotoReader {
    async fn read(&self, ids: &[String]) -> Vec<crate::SentSms> {
        let all = sent_sms(&self.endpoint).await;
        ids.iter()
            .filter_map(|id| all.iter().find(|s| &s.id == id))
            .map(|s| crate::SentSms {
                id: s.id.clone(),
                from: s.from.clone().unwrap_or_default(),
                to: s.to.clone(),
                text: s.text.clone(),
            })
            .collect()
    }
}

/// An SMS moto's SNS holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MotoSms {
    pub id: String,
    pub to: String,
    pub text: String,
    /// `AWS.MM.SMS.OriginationNumber` of the Publish that sent it, from the
    /// recording (moto's SNS model drops message attributes).
    pub from: Option<String>,
}

/// Every SMS moto's SNS holds, in the order it took them. Moto keeps them
/// as `sns.SMS` models in `/moto-api/data.json` (id, phone number, text);
/// the origination number comes from the recorded Publish that sent it:
/// the n-th SMS to a number with a text matches the n-th Publish of both.
pub async fn sent_sms(endpoint: &str) -> Vec<MotoSms> {
    let data: Value = serde_json::from_str(&call(Method::GET, &format!("{endpoint}/moto-api/data.json")).await)
        .expect("moto's data.json is JSON");
    let mut publishes: Vec<Recorded> = recording(endpoint)
        .await
        .into_iter()
        .filter(|r| r.service == Service::Sns && r.operation == "Publish")
        .collect();
    let models = data["sns"]["SMS"].as_array().cloned().unwrap_or_default();
    models
        .iter()
        .map(|m| {
            let field = |name: &str| m[name].as_str().unwrap_or_default().to_owned();
            let (to, text) = (field("phone_number"), field("message"));
            let matching =
                publishes.iter().position(|p| p.param("PhoneNumber") == Some(&to) && p.param("Message") == Some(&text));
            let from = matching.and_then(|i| publishes.remove(i).message_attribute(ORIGINATION_NUMBER).map(|(_, v)| v));
            MotoSms { id: field("message_id"), to, text, from }
        })
        .collect()
}

/// Which AWS service a recorded request went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Service {
    DynamoDb,
    Sns,
    Other,
}

/// One request from moto's recording.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub service: Service,
    /// `X-Amz-Target`'s operation (DynamoDB), the `Action` parameter (SNS).
    pub operation: String,
    /// The JSON body (DynamoDB).
    pub json: Value,
    /// The form parameters (SNS).
    pub params: Vec<(String, String)>,
    /// The access key id that signed it.
    pub access_key: String,
}

impl Recorded {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The destination an SNS request is about (`Publish` spells the
    /// parameter `PhoneNumber`, the opt-out calls `phoneNumber`).
    pub fn phone_number(&self) -> Option<&str> {
        self.param("PhoneNumber").or_else(|| self.param("phoneNumber"))
    }

    /// A Publish's message attribute: data type and string value.
    pub fn message_attribute(&self, name: &str) -> Option<(String, String)> {
        let entry = self
            .params
            .iter()
            .find(|(k, v)| k.starts_with("MessageAttributes.entry.") && k.ends_with(".Name") && v == name)?
            .0
            .trim_end_matches(".Name")
            .to_owned();
        let data_type = self.param(&format!("{entry}.Value.DataType"))?.to_owned();
        let value = self.param(&format!("{entry}.Value.StringValue"))?.to_owned();
        Some((data_type, value))
    }

    /// The DynamoDB tables a request names (`TableName` anywhere, and the
    /// tables of batch requests).
    pub fn tables(&self) -> Vec<String> {
        fn walk(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(map) => {
                    for (k, v) in map {
                        match (k.as_str(), v) {
                            ("TableName", Value::String(t)) => out.push(t.clone()),
                            ("RequestItems", Value::Object(tables)) => out.extend(tables.keys().cloned()),
                            _ => walk(v, out),
                        }
                    }
                }
                Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(&self.json, &mut out);
        out
    }
}

/// Every request moto recorded so far, in arrival order.
pub async fn recording(endpoint: &str) -> Vec<Recorded> {
    let text = call(Method::GET, &format!("{endpoint}/moto-api/recorder/download-recording")).await;
    text.lines().filter(|l| !l.trim().is_empty()).map(parse_recorded).collect()
}

fn parse_recorded(line: &str) -> Recorded {
    let entry: Value = serde_json::from_str(line).expect("a recording line is JSON");
    let header = |name: &str| {
        entry["headers"]
            .as_object()
            .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
            .and_then(|(_, v)| v.as_str())
            .unwrap_or_default()
            .to_owned()
    };
    let raw = entry["body"].as_str().unwrap_or_default();
    let body = if entry["body_encoded"].as_bool() == Some(true) {
        BASE64.decode(raw).expect("a recorded body is Base64")
    } else {
        raw.as_bytes().to_vec()
    };
    let target = header("X-Amz-Target");
    let authorization = header("Authorization");
    let access_key =
        authorization.split("Credential=").nth(1).and_then(|c| c.split('/').next()).unwrap_or_default().to_owned();
    if let Some(op) = target.strip_prefix("DynamoDB_20120810.") {
        return Recorded {
            service: Service::DynamoDb,
            operation: op.to_owned(),
            json: serde_json::from_slice(&body).unwrap_or(Value::Null),
            params: Vec::new(),
            access_key,
        };
    }
    let params: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let action = params.iter().find(|(k, _)| k == "Action").map(|(_, v)| v.clone());
    let sns = authorization.contains("/sns/aws4_request");
    Recorded {
        service: if sns { Service::Sns } else { Service::Other },
        operation: action.unwrap_or(target),
        json: Value::Null,
        params,
        access_key,
    }
}

/// Requests per operation, as "DynamoDB BatchGetItem" / "SNS Publish".
pub type Counts = BTreeMap<String, usize>;

/// What one scenario cost: its requests, counted, and the Publishes.
#[derive(Debug, Clone, Default)]
pub struct Requests {
    pub dynamodb: Counts,
    pub sns: Counts,
    pub publishes: Vec<Recorded>,
}

impl Requests {
    pub fn dynamodb_total(&self) -> usize {
        self.dynamodb.values().sum()
    }
    pub fn sns_total(&self) -> usize {
        self.sns.values().sum()
    }
}

impl Moto {
    /// Marks the start of a scenario in the recording: a `DescribeTable` on
    /// this table, which the store itself never sends.
    pub async fn mark(&self) {
        aws_sdk_dynamodb::Client::new(&self.aws)
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .expect("DescribeTable on moto");
    }

    /// A tenant's item as the table holds it (consistent read).
    pub async fn tenant_item(
        &self,
        tenant: &str,
    ) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
        let out = aws_sdk_dynamodb::Client::new(&self.aws)
            .get_item()
            .table_name(&self.table)
            .key("PK", aws_sdk_dynamodb::types::AttributeValue::S(format!("TENANT#{tenant}")))
            .key("SK", aws_sdk_dynamodb::types::AttributeValue::S("TENANT".to_owned()))
            .consistent_read(true)
            .send()
            .await
            .expect("GetItem");
        out.item.expect("the tenant's item")
    }

    /// Sets attributes of a tenant's item, as another instance (or an older
    /// version) would have left them.
    pub async fn set_on_tenant(&self, tenant: &str, attrs: &[(&str, aws_sdk_dynamodb::types::AttributeValue)]) {
        let mut update = aws_sdk_dynamodb::Client::new(&self.aws)
            .update_item()
            .table_name(&self.table)
            .key("PK", aws_sdk_dynamodb::types::AttributeValue::S(format!("TENANT#{tenant}")))
            .key("SK", aws_sdk_dynamodb::types::AttributeValue::S("TENANT".to_owned()));
        let mut sets = Vec::new();
        for (i, (name, value)) in attrs.iter().enumerate() {
            sets.push(format!("#a{i} = :a{i}"));
            update = update
                .expression_attribute_names(format!("#a{i}"), *name)
                .expression_attribute_values(format!(":a{i}"), value.clone());
        }
        update.update_expression(format!("SET {}", sets.join(", "))).send().await.expect("UpdateItem");
    }

    /// The requests since the last [`Moto::mark`]: DynamoDB ones on this
    /// table, SNS ones for these destination numbers. Other tests' requests
    /// interleave in the recording; they name other tables and numbers.
    pub async fn requests_since_mark(&self, destinations: &[&str]) -> Requests {
        let all = recording(&self.endpoint).await;
        let mine = |r: &Recorded| r.service == Service::DynamoDb && r.tables().contains(&self.table);
        let start = all
            .iter()
            .rposition(|r| mine(r) && r.operation == "DescribeTable")
            .expect("a mark in the recording: call Moto::mark first");
        let mut out = Requests::default();
        for r in &all[start + 1..] {
            if mine(r) {
                *out.dynamodb.entry(r.operation.clone()).or_default() += 1;
            } else if r.service == Service::Sns && r.phone_number().is_some_and(|n| destinations.contains(&n)) {
                *out.sns.entry(r.operation.clone()).or_default() += 1;
                if r.operation == "Publish" {
                    out.publishes.push(r.clone());
                }
            }
        }
        out
    }
}

/// One HTTP request to moto's own API; its body.
/// Every recorded request (of any test) whose URL or body names `needle`,
/// as `Transcribe.<Operation>` (its target) or `S3 <METHOD> <path>`.
pub async fn calls_naming(endpoint: &str, needle: &str) -> Vec<String> {
    let text = call(Method::GET, &format!("{endpoint}/moto-api/recorder/download-recording")).await;
    let mut calls = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let entry: Value = serde_json::from_str(line).expect("a recording line is JSON");
        let url = entry["url"].as_str().unwrap_or_default();
        let raw = entry["body"].as_str().unwrap_or_default();
        let body = match entry["body_encoded"].as_bool() {
            Some(true) => String::from_utf8_lossy(&BASE64.decode(raw).unwrap_or_default()).into_owned(),
            _ => raw.to_owned(),
        };
        if !url.contains(needle) && !body.contains(needle) {
            continue;
        }
        let target = entry["headers"]
            .as_object()
            .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("X-Amz-Target")))
            .and_then(|(_, v)| v.as_str());
        calls.push(match target {
            Some(target) => target.to_owned(),
            None => {
                let path = url.split_once("://").map_or(url, |(_, rest)| &rest[rest.find('/').unwrap_or(0)..]);
                let path = path.split('?').next().unwrap_or(path);
                format!("S3 {} {path}", entry["method"].as_str().unwrap_or_default())
            }
        });
    }
    calls
}

/// Makes moto's Transcribe jobs complete at their first look (its state
/// manager), as a job long finished would answer.
pub async fn complete_transcription_jobs_at_once(endpoint: &str) {
    let body = r#"{"model_name": "transcribe::transcriptionjob", "transition": {"progression": "immediate"}}"#;
    call_with(Method::POST, &format!("{endpoint}/moto-api/state-manager/set-transition"), body).await;
}

async fn call(method: Method, url: &str) -> String {
    call_with(method, url, "").await
}

async fn call_with(method: Method, url: &str, body: &str) -> String {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = http::Request::builder()
        .method(method)
        .uri(url)
        .body(Full::new(Bytes::from(body.to_owned())))
        .expect("a valid moto URL");
    let response = client.request(request).await.unwrap_or_else(|e| panic!("moto at {url} does not answer: {e}"));
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|e| panic!("reading moto's answer from {url}: {e}"))
        .to_bytes();
    let text = String::from_utf8_lossy(&body).into_owned();
    assert!(status.is_success(), "moto answered {status} to {url}: {text}");
    text
}
