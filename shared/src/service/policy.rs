//! The service's tunables, read from the environment at cold start.

/// Tunables, from the environment at cold start.
#[derive(Debug, Clone)]
pub struct Policy {
    /// How long the message log keeps an entry.
    pub message_log_days: u32,
    /// A claim's lease when the invocation's deadline is unknown (the local
    /// server). With a deadline, the lease ends [`LEASE_MARGIN_SECS`] after it.
    pub claim_lease_secs: i64,
    /// How long a finished claim (and an Idempotency-Key) is remembered.
    pub dedup_keep_secs: i64,
    /// Ask the provider whether the destination opted out before sending.
    pub check_opt_out: bool,
    /// Links to recordings for `{recording_url}`; none configured, the
    /// placeholder reads `unknown`.
    pub recording_links: Option<LinkPolicy>,
    pub transcripts: TranscriptPolicy,
}

/// How voicemails wait for a transcription job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptPolicy {
    /// `TRANSCRIPT_WAIT_SECONDS`: how long after the voicemail its SMS
    /// waits for the job's completion before it goes without.
    pub wait_secs: i64,
    /// `TRANSCRIBE_JOB_PREFIX`: starts every job name (the stack's name on
    /// AWS, so that its EventBridge rule matches only its own jobs).
    pub job_prefix: String,
    /// `TRANSCRIPT_PREFIX`: where jobs write their output in the voicemail
    /// bucket, apart from the voicemails.
    pub output_prefix: String,
}

impl TranscriptPolicy {
    /// A voicemail's job: the prefix and its message id.
    pub fn job_name(&self, message_id: &str) -> String {
        format!("{}{message_id}", self.job_prefix)
    }

    /// Where a job writes its transcript.
    pub fn output_key(&self, job: &str) -> String {
        format!("{}{job}.json", self.output_prefix)
    }
}

impl Default for TranscriptPolicy {
    fn default() -> Self {
        TranscriptPolicy { wait_secs: 120, job_prefix: "sms-".to_owned(), output_prefix: "transcripts/".to_owned() }
    }
}

/// Where recording links point and how long they work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkPolicy {
    /// The recording-link endpoint, ending in `/`: `https://…/r/`.
    pub base_url: String,
    pub days: u32,
}

/// How long a claim outlives its holder's deadline: the clocks of two
/// instances may differ a little, and a process may take a moment to stop.
pub const LEASE_MARGIN_SECS: i64 = 10;

impl Default for Policy {
    fn default() -> Self {
        Policy {
            message_log_days: 90,
            claim_lease_secs: 120,
            dedup_keep_secs: 7 * 86_400,
            check_opt_out: true,
            recording_links: None,
            transcripts: TranscriptPolicy::default(),
        }
    }
}
