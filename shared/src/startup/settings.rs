//! Configuration from the environment, read once per cold start. A missing or
//! invalid setting stops the start with a message that names it.

use std::path::PathBuf;

use crate::inbound::trigger::{DEFAULT_SUFFIXES, KeyLayout};
use crate::ports::StoreError;
use crate::service::{LinkPolicy, Policy, TranscriptPolicy};

/// Where data lives and where SMS go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// The default: a SQLite file and a local outbox (in the same file
    /// unless told otherwise).
    Embedded { db: PathBuf, outbox: PathBuf, recordings: PathBuf },
    /// DynamoDB (this table) and SNS; `AWS_ENDPOINT_URL` may point both at a
    /// local emulator.
    Aws { table: String },
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub backend: Backend,
    pub policy: Policy,
    pub layout: KeyLayout,
    pub timeouts: AwsTimeouts,
    pub tuning: AwsTuning,
}

/// What a warm instance keeps, and what a cold one prepares (AWS only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsTuning {
    /// `CONFIG_CACHE_SECONDS`: how long configuration reads are reused
    /// (adapters::cache); 0: never.
    pub config_cache_secs: i64,
    /// `OPT_OUT_CACHE_SECONDS`: how long a destination's opt-out verdict is
    /// reused; 0: asked before every send.
    pub opt_out_cache_secs: i64,
    /// `AWS_PREWARM`: open the connections a function uses (DynamoDB; SNS
    /// where it sends) in the init phase, so the first request needs no TLS
    /// handshake.
    pub prewarm: bool,
    /// `AWS_CA_BUNDLE`: a PEM file of the roots TLS connections to AWS may
    /// chain to instead of Amazon's (adapters::aws).
    pub ca_bundle: Option<PathBuf>,
}

/// Bounds on every AWS call (DynamoDB, SNS, S3), so that a hung call fails
/// well inside the function's timeout and its claim is released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AwsTimeouts {
    /// Opening a connection (TCP and TLS).
    pub connect_ms: u64,
    /// One attempt: request sent, answer read.
    pub attempt_ms: u64,
    /// The whole call, retries included.
    pub operation_ms: u64,
}

impl AwsTimeouts {
    /// As the AWS SDK takes them.
    #[cfg(feature = "aws")]
    pub fn sdk(self) -> aws_config::timeout::TimeoutConfig {
        use std::time::Duration;
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_millis(self.connect_ms))
            .operation_attempt_timeout(Duration::from_millis(self.attempt_ms))
            .operation_timeout(Duration::from_millis(self.operation_ms))
            .build()
    }
}

impl Default for AwsTimeouts {
    fn default() -> Self {
        AwsTimeouts { connect_ms: 1_000, attempt_ms: 2_000, operation_ms: 3_000 }
    }
}

#[derive(thiserror::Error)]
pub enum StartupError {
    #[error("invalid setting {name}={value:?}: expected {expected}")]
    Invalid { name: &'static str, value: String, expected: &'static str },
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot create table {table}: {reason}")]
    Table { table: String, reason: String },
    #[error("cannot use {name} {path:?}: {reason}")]
    File { name: &'static str, path: PathBuf, reason: String },
}

/// `main` returns this as its error, and Rust prints errors from `main` with
/// `Debug`: make that the readable message.
impl std::fmt::Debug for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl Settings {
    pub fn from_env() -> Result<Self, StartupError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// `env` answers a variable's value; split out so tests need no process
    /// environment.
    pub fn from_lookup(env: impl Fn(&str) -> Option<String>) -> Result<Self, StartupError> {
        let get = |name: &str| env(name).filter(|v| !v.is_empty());
        let backend = backend(&get)?;
        let timeouts = timeouts(&get)?;
        let policy = policy(&get)?;
        let layout = layout(&get)?;
        check_function_timeout(&get, &policy, &timeouts)?;
        let tuning = AwsTuning {
            config_cache_secs: number(&get, "CONFIG_CACHE_SECONDS", 0, 3600, 30)? as i64,
            opt_out_cache_secs: number(&get, "OPT_OUT_CACHE_SECONDS", 0, 86_400, 600)? as i64,
            prewarm: flag(&get, "AWS_PREWARM", true)?,
            ca_bundle: get("AWS_CA_BUNDLE").map(PathBuf::from),
        };
        Ok(Settings { backend, policy, layout, timeouts, tuning })
    }
}

/// `SMS_TABLE_NAME` (DynamoDB), else the embedded files: `SMS_DB_PATH`,
/// `SMS_OUTBOX_PATH`, `SMS_RECORDINGS_DIR`.
fn backend(get: &impl Fn(&str) -> Option<String>) -> Result<Backend, StartupError> {
    if let Some(table) = get("SMS_TABLE_NAME") {
        if !(3..=255).contains(&table.len()) || !table.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        {
            return Err(StartupError::Invalid {
                name: "SMS_TABLE_NAME",
                value: table,
                expected: "a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ - .)",
            });
        }
        return Ok(Backend::Aws { table });
    }
    // Lambda's only writable place is /tmp.
    let default = if get("AWS_LAMBDA_FUNCTION_NAME").is_some() { "/tmp/sms.db" } else { "sms.db" };
    let db = PathBuf::from(get("SMS_DB_PATH").unwrap_or_else(|| default.to_owned()));
    let outbox = get("SMS_OUTBOX_PATH").map_or_else(|| db.clone(), PathBuf::from);
    let recordings = PathBuf::from(get("SMS_RECORDINGS_DIR").unwrap_or_else(|| ".".to_owned()));
    Ok(Backend::Embedded { db, outbox, recordings })
}

fn policy(get: &impl Fn(&str) -> Option<String>) -> Result<Policy, StartupError> {
    let defaults = Policy::default();
    Ok(Policy {
        message_log_days: number(get, "MESSAGE_LOG_DAYS", 1, 3650, defaults.message_log_days.into())? as u32,
        claim_lease_secs: number(get, "CLAIM_LEASE_SECONDS", 10, 43_200, defaults.claim_lease_secs as u64)? as i64,
        dedup_keep_secs: number(get, "DEDUP_DAYS", 1, 365, (defaults.dedup_keep_secs / 86_400) as u64)? as i64 * 86_400,
        check_opt_out: flag(get, "SMS_CHECK_OPT_OUT", true)?,
        recording_links: recording_links(get)?,
        transcripts: transcripts(get)?,
    })
}

/// `TRANSCRIPT_WAIT_SECONDS` (120), `TRANSCRIBE_JOB_PREFIX` (`sms-`) and
/// `TRANSCRIPT_PREFIX` (`transcripts/`).
fn transcripts(get: &impl Fn(&str) -> Option<String>) -> Result<TranscriptPolicy, StartupError> {
    let d = TranscriptPolicy::default();
    let wait_secs = number(get, "TRANSCRIPT_WAIT_SECONDS", 10, 3600, d.wait_secs as u64)? as i64;
    // Job names are at most 200 of [0-9a-zA-Z._-]; a message id takes 35.
    let job_prefix = get("TRANSCRIBE_JOB_PREFIX").unwrap_or(d.job_prefix);
    if job_prefix.len() > 100 || !job_prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
        return Err(StartupError::Invalid {
            name: "TRANSCRIBE_JOB_PREFIX",
            value: job_prefix,
            expected: "at most 100 of A-Z a-z 0-9 . _ - (a Transcribe job name's start)",
        });
    }
    let output_prefix = get("TRANSCRIPT_PREFIX").unwrap_or(d.output_prefix);
    if !output_prefix.ends_with('/') || output_prefix.starts_with('/') {
        return Err(StartupError::Invalid {
            name: "TRANSCRIPT_PREFIX",
            value: output_prefix,
            expected: "a key prefix ending in '/', not starting with one (transcripts/)",
        });
    }
    Ok(TranscriptPolicy { wait_secs, job_prefix, output_prefix })
}

/// `VOICEMAIL_PREFIX` and `VOICEMAIL_SUFFIXES`: where voicemails are in the
/// bucket, and which files are audio.
fn layout(get: &impl Fn(&str) -> Option<String>) -> Result<KeyLayout, StartupError> {
    let prefix = get("VOICEMAIL_PREFIX").unwrap_or_else(|| "voicemail/".to_owned());
    if !prefix.ends_with('/') || prefix.starts_with('/') {
        return Err(StartupError::Invalid {
            name: "VOICEMAIL_PREFIX",
            value: prefix,
            expected: "a key prefix ending in '/', not starting with one (voicemail/)",
        });
    }
    let raw_suffixes = get("VOICEMAIL_SUFFIXES").unwrap_or_else(|| DEFAULT_SUFFIXES.to_owned());
    let suffixes: Vec<String> = raw_suffixes.split(',').map(|s| s.trim().to_ascii_lowercase()).collect();
    if suffixes.iter().any(|s| s.len() < 2 || !s.starts_with('.') || s[1..].contains(['.', '/'])) {
        return Err(StartupError::Invalid {
            name: "VOICEMAIL_SUFFIXES",
            value: raw_suffixes,
            expected: "a comma-separated list of file suffixes such as .wav,.mp3",
        });
    }
    Ok(KeyLayout { prefix, suffixes })
}

fn timeouts(get: &impl Fn(&str) -> Option<String>) -> Result<AwsTimeouts, StartupError> {
    let d = AwsTimeouts::default();
    let connect_ms = number(get, "AWS_CONNECT_TIMEOUT_MS", 50, 30_000, d.connect_ms)?;
    let attempt_ms = number(get, "AWS_ATTEMPT_TIMEOUT_MS", 50, 60_000, d.attempt_ms)?;
    let operation_ms = number(get, "AWS_OPERATION_TIMEOUT_MS", 50, 120_000, d.operation_ms)?;
    if operation_ms < attempt_ms {
        return Err(StartupError::Invalid {
            name: "AWS_OPERATION_TIMEOUT_MS",
            value: operation_ms.to_string(),
            expected: "at least AWS_ATTEMPT_TIMEOUT_MS (an operation is one or more attempts)",
        });
    }
    Ok(AwsTimeouts { connect_ms, attempt_ms, operation_ms })
}

/// `RECORDING_LINK_BASE_URL` (the recording-link endpoint, `https://…/r/`)
/// and `RECORDING_LINK_DAYS` (7).
fn recording_links(get: &impl Fn(&str) -> Option<String>) -> Result<Option<LinkPolicy>, StartupError> {
    let Some(base_url) = get("RECORDING_LINK_BASE_URL") else {
        return Ok(None);
    };
    let shaped = (base_url.starts_with("https://") || base_url.starts_with("http://"))
        && base_url.ends_with('/')
        && base_url.len() <= 200
        && base_url.bytes().all(|b| b.is_ascii_graphic());
    if !shaped {
        return Err(StartupError::Invalid {
            name: "RECORDING_LINK_BASE_URL",
            value: base_url,
            expected: "an http(s) URL of at most 200 characters ending in '/', such as https://sms.example.com/r/",
        });
    }
    let days = number(get, "RECORDING_LINK_DAYS", 1, 90, 7)? as u32;
    Ok(Some(LinkPolicy { base_url, days }))
}

/// `FUNCTION_TIMEOUT_SECONDS` (the template sets it to the function's
/// timeout): a claim's lease must outlast any run, and one hung AWS call
/// must leave time to release the claim.
fn check_function_timeout(
    get: &impl Fn(&str) -> Option<String>,
    policy: &Policy,
    timeouts: &AwsTimeouts,
) -> Result<(), StartupError> {
    if get("FUNCTION_TIMEOUT_SECONDS").is_none() {
        return Ok(());
    }
    let secs = number(get, "FUNCTION_TIMEOUT_SECONDS", 1, 900, 0)? as i64;
    if policy.claim_lease_secs < secs {
        return Err(StartupError::Invalid {
            name: "CLAIM_LEASE_SECONDS",
            value: policy.claim_lease_secs.to_string(),
            expected: "at least the function's timeout (FUNCTION_TIMEOUT_SECONDS): a claim must outlast its holder",
        });
    }
    if timeouts.operation_ms.saturating_mul(3) > secs as u64 * 1000 {
        return Err(StartupError::Invalid {
            name: "AWS_OPERATION_TIMEOUT_MS",
            value: timeouts.operation_ms.to_string(),
            expected: "at most a third of the function's timeout (FUNCTION_TIMEOUT_SECONDS), \
                       to leave time to release a claim",
        });
    }
    Ok(())
}

fn flag(get: &impl Fn(&str) -> Option<String>, name: &'static str, default: bool) -> Result<bool, StartupError> {
    match get(name).as_deref() {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(StartupError::Invalid { name, value: other.to_owned(), expected: "true or false" }),
    }
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    min: u64,
    max: u64,
    default: u64,
) -> Result<u64, StartupError> {
    const EXPECTED: &str = "a whole number in the documented range";
    match get(name) {
        None => Ok(default),
        Some(v) => v.parse::<u64>().ok().filter(|n| (min..=max).contains(n)).ok_or(StartupError::Invalid {
            name,
            value: v,
            expected: EXPECTED,
        }),
    }
}

/// Logs as JSON on Lambda (CloudWatch parses them), plain text elsewhere.
/// `LOG_LEVEL` (or `RUST_LOG`) sets the level, per target if need be
/// (`warn,shared=debug`); `info` by default, or when unreadable.
pub fn init_tracing() {
    use tracing_subscriber::prelude::*;
    let filter = log_filter(std::env::var("LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG")).ok());
    let fmt = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some() {
        tracing_subscriber::registry().with(fmt.json().with_current_span(false).without_time()).with(filter).init();
    } else {
        tracing_subscriber::registry().with(fmt).with(filter).init();
    }
}

/// The log filter a `LOG_LEVEL` value names; `info` when there is none or it
/// cannot be read.
fn log_filter(value: Option<String>) -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    value
        .filter(|f| !f.trim().is_empty())
        .and_then(|f| f.parse::<Targets>().ok())
        .unwrap_or_else(|| Targets::new().with_default(LevelFilter::INFO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_shorter_than_the_function_is_refused() {
        let e = with(&[("FUNCTION_TIMEOUT_SECONDS", "300"), ("CLAIM_LEASE_SECONDS", "120")]).unwrap_err().to_string();
        assert!(
            e.starts_with("invalid setting CLAIM_LEASE_SECONDS=\"120\": expected at least the function's timeout"),
            "{e}"
        );
        assert!(with(&[("FUNCTION_TIMEOUT_SECONDS", "30"), ("CLAIM_LEASE_SECONDS", "30")]).is_ok());
        let e = with(&[("FUNCTION_TIMEOUT_SECONDS", "5")]).unwrap_err().to_string();
        assert!(e.starts_with("invalid setting AWS_OPERATION_TIMEOUT_MS=\"3000\""), "{e}");
        let e =
            with(&[("AWS_ATTEMPT_TIMEOUT_MS", "5000"), ("AWS_OPERATION_TIMEOUT_MS", "1000")]).unwrap_err().to_string();
        assert!(e.starts_with("invalid setting AWS_OPERATION_TIMEOUT_MS="), "{e}");
    }

    fn with(vars: &[(&str, &str)]) -> Result<Settings, StartupError> {
        Settings::from_lookup(|n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_are_embedded() {
        let s = with(&[]).unwrap();
        assert_eq!(
            s.backend,
            Backend::Embedded { db: "sms.db".into(), outbox: "sms.db".into(), recordings: ".".into() }
        );
        assert_eq!(s.layout, KeyLayout::default());
        assert_eq!(
            with(&[("SMS_TABLE_NAME", "sms-table")]).unwrap().backend,
            Backend::Aws { table: "sms-table".into() }
        );
    }

    #[test]
    fn invalid_settings_name_themselves() {
        for (name, value) in [
            ("MESSAGE_LOG_DAYS", "abc"),
            ("MESSAGE_LOG_DAYS", "0"),
            ("VOICEMAIL_PREFIX", "voicemail"),
            ("VOICEMAIL_SUFFIXES", "wav"),
            ("TRANSCRIPT_WAIT_SECONDS", "5"),
            ("TRANSCRIBE_JOB_PREFIX", "my stack/"),
            ("TRANSCRIPT_PREFIX", "transcripts"),
            ("SMS_TABLE_NAME", "a b"),
            ("SMS_CHECK_OPT_OUT", "maybe"),
            ("AWS_ATTEMPT_TIMEOUT_MS", "0"),
            ("FUNCTION_TIMEOUT_SECONDS", "0"),
            ("RECORDING_LINK_BASE_URL", "https://sms.example.com/r"),
            ("RECORDING_LINK_BASE_URL", "ftp://sms.example.com/r/"),
        ] {
            let e = with(&[(name, value)]).unwrap_err().to_string();
            assert!(e.starts_with(&format!("invalid setting {name}=")), "{e}");
        }
    }

    #[test]
    fn log_level_takes_a_level_or_levels_per_target_and_falls_back_to_info() {
        use tracing::Level;
        let f = |v: Option<&str>| log_filter(v.map(str::to_owned));
        let per_target = f(Some("warn,shared=debug"));
        assert!(per_target.would_enable("shared::service", &Level::DEBUG));
        assert!(!per_target.would_enable("aws_smithy_runtime", &Level::INFO));
        assert!(per_target.would_enable("aws_smithy_runtime", &Level::WARN));
        for fallback in [None, Some(""), Some("  "), Some("not=a=filter")] {
            let info = f(fallback);
            assert!(
                info.would_enable("shared", &Level::INFO) && !info.would_enable("shared", &Level::DEBUG),
                "{fallback:?}"
            );
        }
    }
}
