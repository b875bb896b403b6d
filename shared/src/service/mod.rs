//! The service: the contract's checks in their order, then the send. The
//! APIs and the trigger only parse and map; every rule lives here.
//!
//! - [`api`]: both APIs' use cases; [`voicemail`]: the trigger's;
//!   [`reports`]: reports, the message log, receipts, recording links;
//!   [`config`]: the operator configuration, checked before it is written.
//! - `rules`: the checks that need no store; `steps`: one message's work
//!   under its claim; [`policy`]: the tunables; [`error`]: the one error
//!   type, with the contract's texts; `reasons`: its short names for metrics.

mod api;
pub mod config;
mod digests;
mod ending;
pub mod error;
pub mod operators;
pub mod policy;
mod reasons;
mod reports;
mod requests;
mod rules;
mod steps;
mod transcripts;
mod voicemail;

use std::sync::Arc;

pub use error::{Error, Result};
pub use policy::{LEASE_MARGIN_SECS, LinkPolicy, Policy, TranscriptPolicy};
pub use reports::{MAX_RECORDING_BYTES, MAX_REPORT};
pub use requests::{Answer, ApiAction, ApiCall, ApiRequest, ApiStyle, E164Digits, Names, PageQuery, ReportQuery, Sent};
pub use rules::{default_voicemail_text, filled, fingerprint};
pub use transcripts::News;
pub use voicemail::Outcome;

use crate::ports::{
    Admin, DetailsSource, Metrics, NoMetrics, Recordings, SharedClock, SmsGateway, Store, Transcriber, TranscriptFiles,
};

#[derive(Clone)]
pub struct Service {
    store: Arc<dyn Store>,
    /// None for a function that sends no SMS (its bootstrap then carries
    /// no SMS client).
    gateway: Option<Arc<dyn SmsGateway>>,
    details: Option<Arc<dyn DetailsSource>>,
    recordings: Option<Arc<dyn Recordings>>,
    /// Sidecar files and transcription jobs' output.
    files: Option<Arc<dyn TranscriptFiles>>,
    transcriber: Option<Arc<dyn Transcriber>>,
    /// What the console reads and changes beyond the hot path.
    admin: Option<Arc<dyn Admin>>,
    metrics: Arc<dyn Metrics>,
    policy: Policy,
    clock: SharedClock,
}

impl Service {
    pub fn new(store: Arc<dyn Store>, gateway: Arc<dyn SmsGateway>, policy: Policy, clock: SharedClock) -> Self {
        Service { gateway: Some(gateway), ..Self::without_sms(store, policy, clock) }
    }

    /// For the functions that never send (delivery receipts, recording links).
    pub fn without_sms(store: Arc<dyn Store>, policy: Policy, clock: SharedClock) -> Self {
        Service {
            store,
            gateway: None,
            details: None,
            recordings: None,
            files: None,
            transcriber: None,
            admin: None,
            metrics: Arc::new(NoMetrics),
            policy,
            clock,
        }
    }

    fn gateway(&self) -> Result<&dyn SmsGateway> {
        self.gateway
            .as_deref()
            .ok_or_else(|| Error::Internal("this function was started without an SMS gateway".to_owned()))
    }

    fn admin(&self) -> Result<&dyn Admin> {
        self.admin
            .as_deref()
            .ok_or_else(|| Error::Internal("this function was started without the console's store".to_owned()))
    }

    pub fn with_admin(mut self, admin: Arc<dyn Admin>) -> Self {
        self.admin = Some(admin);
        self
    }

    pub fn with_details(mut self, details: Arc<dyn DetailsSource>) -> Self {
        self.details = Some(details);
        self
    }

    pub fn with_recordings(mut self, recordings: Arc<dyn Recordings>) -> Self {
        self.recordings = Some(recordings);
        self
    }

    pub fn with_transcript_files(mut self, files: Arc<dyn TranscriptFiles>) -> Self {
        self.files = Some(files);
        self
    }

    pub fn with_transcriber(mut self, transcriber: Arc<dyn Transcriber>) -> Self {
        self.transcriber = Some(transcriber);
        self
    }

    pub fn with_metrics(mut self, metrics: Arc<dyn Metrics>) -> Self {
        self.metrics = metrics;
        self
    }

    pub fn with_clock(mut self, clock: SharedClock) -> Self {
        self.clock = clock;
        self
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }
}
