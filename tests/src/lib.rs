//! Test support shared by the integration tests (and what the benchmark
//! reuses), one concern a module:
//!
//! - [`backend`]: the embedded default and DynamoDB + SNS on moto;
//!   [`gateway`]: a gateway that records and injects failures;
//! - [`handlers`]: the functions' handlers driven as Lambda does; [`seeds`]:
//!   what the sample events name; [`logs`]: captured logs;
//! - [`moto`], [`tls`], [`endpoint`], [`platform`]: the AWS stand-ins and
//!   the platform's redeliveries; [`runtime_api`]: the built binaries run
//!   against a Lambda Runtime API stand-in, which [`binaries`] builds;
//! - [`browser`]: headless chromium through chromedriver, with axe-core.

pub mod backend;
pub mod binaries;
pub mod browser;
pub mod endpoint;
pub mod gateway;
pub mod handlers;
pub mod logs;
pub mod moto;
pub mod platform;
pub mod runtime_api;
pub mod seeds;
pub mod tls;

pub use backend::{Backend, backends, backends_solo, embedded, temp_path};
pub use gateway::{SentReader, SentSms, TestGateway};
pub use handlers::{answer, invoke_event, request, s3_record, sqs_batch, trigger, trigger_by};
pub use logs::{CaptureGuard, Logs, capture_logs};
pub use seeds::{
    KEEP_LOG, SAMPLE_JOB_PREFIX, SAMPLE_LINK_TOKEN, SAMPLE_RECEIPT_ID, SAMPLE_RECORDING_KEY, SAMPLE_WAITING_ID,
    events_config, log_entry, repo_path, seed_link, seed_sent, seed_waiting,
};
