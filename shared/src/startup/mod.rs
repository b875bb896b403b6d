//! A cold start: the service a function needs, built once in `main`, and
//! nothing it does not need. Each function names its needs as a type
//! ([`needs`]): the choice is a constant, so init neither builds, connects
//! nor warms up what the function never uses, and the code behind the other
//! branches is not linked into its bootstrap (send-sms carries no S3
//! client, delivery-status no SNS client).
//!
//! `smsctl` starts here too: [`Settings::admin`] for what operators do,
//! and (embedded only) `local`'s outbox and local server.

#[cfg(feature = "embedded")]
mod local;
mod settings;

use std::sync::Arc;

#[cfg(feature = "embedded")]
pub use local::Local;
pub use settings::{AwsTimeouts, AwsTuning, Backend, Settings, StartupError, init_tracing};

use crate::adapters::clock;
use crate::ports::Admin;
use crate::service::Service;

/// What a function uses beyond the store.
pub trait Needs {
    /// Sends SMS: the gateway (connected in init, with `AWS_PREWARM`) and
    /// libphonenumber's metadata (loaded in init).
    const SMS: bool = false;
    /// Readies the SMS parts in init (libphonenumber's metadata, the SNS
    /// connection); without, their first use does (the console's rare test
    /// SMS is no reason for every cold start to pay for them).
    const SMS_IN_INIT: bool = Self::SMS;
    /// Fills voicemail templates from the S3 object's metadata.
    const DETAILS: bool = false;
    /// Opens recordings: presigned S3 URLs (on AWS), the folder (embedded).
    const RECORDINGS: bool = false;
    /// The console: what operators read and change, read uncached (a page
    /// shows a change as soon as it is saved).
    const ADMIN: bool = false;
    /// Transcripts: sidecar files and jobs' output read from S3, Amazon
    /// Transcribe's jobs started or asked.
    const TRANSCRIPTS: bool = false;
}

/// The functions' needs.
pub mod needs {
    use super::Needs;

    /// send-sms, voicemail-notify.
    pub enum Sms {}
    impl Needs for Sms {
        const SMS: bool = true;
    }

    /// voicemail-trigger.
    pub enum SmsAndDetails {}
    impl Needs for SmsAndDetails {
        const SMS: bool = true;
        const DETAILS: bool = true;
        const TRANSCRIPTS: bool = true;
    }

    /// scheduled-sender: most runs find nothing due, so the SMS parts are
    /// readied at the first send, not in every cold start.
    pub enum Scheduled {}
    impl Needs for Scheduled {
        const SMS: bool = true;
        const SMS_IN_INIT: bool = false;
        const TRANSCRIPTS: bool = true;
    }

    /// delivery-status.
    pub enum StoreOnly {}
    impl Needs for StoreOnly {}

    /// recording-link.
    pub enum Recordings {}
    impl Needs for Recordings {
        const RECORDINGS: bool = true;
    }

    /// console: its test SMS sends, readied at first use.
    pub enum Console {}
    impl Needs for Console {
        const SMS: bool = true;
        const SMS_IN_INIT: bool = false;
        const ADMIN: bool = true;
    }

    /// Every function's but the console's (the tests, which drive those
    /// handlers on the cached configuration they deploy with).
    pub enum All {}
    impl Needs for All {
        const SMS: bool = true;
        const DETAILS: bool = true;
        const RECORDINGS: bool = true;
        const TRANSCRIPTS: bool = true;
    }
}

impl Settings {
    /// The service over the store and gateway this configuration names.
    pub async fn service<N: Needs>(&self) -> Result<Service, StartupError> {
        if !N::SMS_IN_INIT {
            return self.backend_service::<N>().await;
        }
        // libphonenumber's metadata loads on a thread of its own while the
        // backend opens (on AWS: loads its configuration and connects), so
        // that init takes the longer of the two, not both.
        let phones = tokio::task::spawn_blocking(crate::domain::warm_up);
        let service = self.backend_service::<N>().await;
        let _ = phones.await;
        service
    }

    async fn backend_service<N: Needs>(&self) -> Result<Service, StartupError> {
        match &self.backend {
            #[cfg(feature = "embedded")]
            Backend::Embedded { db, outbox, recordings } => {
                let clock = clock::system();
                // The outbox only where the function sends: it may be a
                // file (and a thread) of its own.
                let (store, service) = if N::SMS {
                    let (store, outbox) = crate::adapters::outbox::embedded(db, outbox, false, clock.clone()).await?;
                    (store.clone(), Service::new(store, outbox, self.policy.clone(), clock))
                } else {
                    let store = Arc::new(crate::adapters::sqlite::SqliteStore::open(db)?);
                    (store.clone(), Service::without_sms(store, self.policy.clone(), clock))
                };
                let mut service = if N::ADMIN { service.with_admin(store) } else { service };
                let folder = Arc::new(crate::adapters::folder::FolderRecordings::new(recordings));
                if N::TRANSCRIPTS {
                    service = service.with_transcript_files(folder.clone());
                }
                Ok(if N::RECORDINGS { service.with_recordings(folder) } else { service })
            }
            #[cfg(feature = "aws")]
            Backend::Aws { table } => Ok(self.aws_service::<N>(&self.aws().await?, table).await),
            #[allow(unreachable_patterns)]
            other => Err(StartupError::Invalid {
                name: "SMS_TABLE_NAME",
                value: format!("{other:?}"),
                expected: "a backend this build includes",
            }),
        }
    }

    /// DynamoDB, and what `N` names of SNS and S3, with the configuration
    /// cache, the opt-out verdicts' cache and, on Lambda, metrics to
    /// CloudWatch; connections opened now when asked.
    #[cfg(feature = "aws")]
    pub async fn aws_service<N: Needs>(&self, aws: &aws_config::SdkConfig, table: &str) -> Service {
        let (t, clock) = (&self.tuning, clock::system());
        let dynamo = Arc::new(crate::adapters::dynamodb::DynamoStore::new(aws, table));
        let parts = aws_parts::<N>(aws, t, &clock);
        if t.prewarm {
            match parts.sms.as_ref().filter(|_| N::SMS_IN_INIT) {
                Some(sms) => drop(tokio::join!(dynamo.prewarm(), sms.prewarm())),
                None => dynamo.prewarm().await,
            }
        }
        let store: Arc<dyn crate::ports::Store> = match t.config_cache_secs {
            secs if secs > 0 && !N::ADMIN => {
                Arc::new(crate::adapters::cache::CachedStore::new(dynamo.clone(), secs, clock.clone()))
            }
            _ => dynamo.clone(),
        };
        let mut service = match parts.sms {
            Some(sms) => Service::new(store, sms, self.policy.clone(), clock.clone()),
            None => Service::without_sms(store, self.policy.clone(), clock.clone()),
        };
        if let Some(details) = parts.details {
            service = service.with_details(details);
        }
        if let Some(recordings) = parts.recordings {
            service = service.with_recordings(recordings);
        }
        if let Some((files, transcriber)) = parts.transcripts {
            service = service.with_transcript_files(files).with_transcriber(transcriber);
        }
        if N::ADMIN {
            service = service.with_admin(dynamo);
        }
        // On Lambda, metrics go to CloudWatch as EMF log lines.
        match std::env::var("AWS_LAMBDA_FUNCTION_NAME") {
            Ok(function) => service.with_metrics(Arc::new(crate::adapters::emf::Emf::new(&function, clock))),
            Err(_) => service,
        }
    }

    /// The store, for what operators do (apply, export, keys, messages);
    /// `create_table` first creates the DynamoDB table if it is missing.
    pub async fn admin(&self, create_table: bool) -> Result<Arc<dyn Admin>, StartupError> {
        match &self.backend {
            #[cfg(feature = "embedded")]
            Backend::Embedded { db, .. } if !create_table => {
                Ok(Arc::new(crate::adapters::sqlite::SqliteStore::open(db)?))
            }
            #[cfg(feature = "aws")]
            Backend::Aws { table } => {
                let store = crate::adapters::dynamodb::DynamoStore::new(&self.aws().await?, table);
                if create_table {
                    store
                        .create_table()
                        .await
                        .map_err(|e| StartupError::Table { table: table.clone(), reason: e.0 })?;
                }
                Ok(Arc::new(store))
            }
            other => Err(StartupError::Invalid {
                name: "SMS_TABLE_NAME",
                value: format!("{other:?}"),
                expected: "a DynamoDB table this build includes (creating a table needs one)",
            }),
        }
    }

    /// The AWS SDK's configuration: the usual environment (credentials,
    /// region, `AWS_ENDPOINT_URL`), with this configuration's timeouts and
    /// trust roots (Amazon's, or `AWS_CA_BUNDLE`'s).
    #[cfg(feature = "aws")]
    pub async fn aws(&self) -> Result<aws_config::SdkConfig, StartupError> {
        use crate::adapters::aws::{TrustRoots, http_client};
        let roots = match &self.tuning.ca_bundle {
            None => TrustRoots::amazon(),
            Some(path) => std::fs::read(path)
                .map_err(|e| e.to_string())
                .and_then(TrustRoots::from_pem)
                .map_err(|reason| StartupError::File { name: "AWS_CA_BUNDLE", path: path.clone(), reason })?,
        };
        Ok(aws_config::defaults(aws_config::BehaviorVersion::latest())
            .http_client(http_client(&roots))
            .timeout_config(self.timeouts.sdk())
            .load()
            .await)
    }
}

/// What a function uses of AWS beyond DynamoDB.
#[cfg(feature = "aws")]
struct AwsParts {
    sms: Option<Arc<dyn crate::ports::SmsGateway>>,
    details: Option<Arc<dyn crate::ports::DetailsSource>>,
    recordings: Option<Arc<dyn crate::ports::Recordings>>,
    transcripts: Option<(Arc<dyn crate::ports::TranscriptFiles>, Arc<dyn crate::ports::Transcriber>)>,
}

/// Built outside any `async fn` on purpose: in a future's state machine the
/// code after an `.await` stays reachable through its resume states, so a
/// client built under a constant-false branch there was still linked (its
/// vtable with it); here the branch folds away whole.
#[cfg(feature = "aws")]
fn aws_parts<N: Needs>(aws: &aws_config::SdkConfig, t: &AwsTuning, clock: &crate::ports::SharedClock) -> AwsParts {
    use crate::adapters::{s3::S3Voicemails, sns::SnsGateway};
    let mut parts = AwsParts { sms: None, details: None, recordings: None, transcripts: None };
    if N::SMS {
        parts.sms = Some(Arc::new(SnsGateway::new(aws, clock.clone()).with_opt_out_cache(t.opt_out_cache_secs)));
    }
    if N::DETAILS || N::RECORDINGS || N::TRANSCRIPTS {
        let objects = Arc::new(S3Voicemails::new(aws));
        if N::DETAILS {
            parts.details = Some(objects.clone());
        }
        if N::RECORDINGS {
            parts.recordings = Some(objects.clone());
        }
        if N::TRANSCRIPTS {
            parts.transcripts = Some((objects, Arc::new(crate::adapters::transcribe::Transcribe::new(aws))));
        }
    }
    parts
}
