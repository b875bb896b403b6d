//! How AWS delivers voicemail events, on a test clock: each platform's
//! redelivery rules, and runs that die at a chosen step.
//!
//! - [`Platform`]: SQS (the message comes back after its visibility timeout
//!   until `maxReceiveCount`), asynchronous invocation (S3 or EventBridge
//!   invoking the function: two retries, about 1 and 2 minutes after a
//!   failure), and EventBridge's own retry policy (backoff for up to 24 h).
//! - [`Dying`]: a store that makes the run die at one step of its work, as a
//!   process killed at that line would: what was written stays written,
//!   nothing after it happens.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use shared::domain::{ExtensionRecord, KeyHash, MessageRecord, Receipt, RecordingLink};
use shared::ports::{
    Begun, End, Finished, Found, Lookup, MessagePage, MessageQuery, Received, Resume, Resumed, Start, Store,
    StoreError, Waiting,
};
use shared::service::Service;

/// A step of the trigger's work for one voicemail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Read the configuration; nothing written yet.
    BeforeClaim,
    /// The claim is taken (and the log entry `sending`); nothing sent. In
    /// a voicemail's second phase: taken again from its wait.
    AfterClaim,
    /// Sent; the claim not yet marked done.
    AfterSend,
    /// Marked done; the platform never heard the answer.
    AfterDone,
}

pub const STEPS: [Step; 4] = [Step::BeforeClaim, Step::AfterClaim, Step::AfterSend, Step::AfterDone];

/// How a closing write (`finish`) stumbles, one try at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stumble {
    /// Refused before it took effect (a 500, throttling, a timeout on the way).
    Before,
    /// Taken, and its answer lost (a 500 after the write, a timeout on the way back).
    AnswerLost,
}

/// A store whose next run dies at `step`: the operation there never
/// returns (after having written, for the "after" steps); and whose next
/// closing writes stumble as planned, each try's outcome kept.
pub struct Dying {
    inner: Arc<dyn Store>,
    at: Mutex<Option<Step>>,
    /// Told when a run died.
    pub died: tokio::sync::Notify,
    stumbles: Mutex<Vec<Stumble>>,
    /// What each `finish` answered, in order.
    pub finished: Mutex<Vec<Result<Finished, String>>>,
}

impl Dying {
    pub fn new(inner: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Dying {
            inner,
            at: Mutex::new(None),
            died: tokio::sync::Notify::new(),
            stumbles: Mutex::default(),
            finished: Mutex::default(),
        })
    }

    /// The next closing writes stumble so, in this order.
    pub fn stumble(&self, plan: &[Stumble]) {
        *self.stumbles.lock().unwrap() = plan.iter().rev().copied().collect();
    }

    /// The next run dies at this step.
    pub fn die_at(&self, step: Step) {
        *self.at.lock().unwrap() = Some(step);
    }

    /// Dies here if this is the step: once.
    async fn maybe_die(&self, step: Step) {
        let dies = {
            let mut at = self.at.lock().unwrap();
            let dies = *at == Some(step);
            if dies {
                *at = None;
            }
            dies
        };
        if dies {
            self.died.notify_one();
            std::future::pending::<()>().await;
        }
    }
}

#[async_trait]
impl Store for Dying {
    async fn lookup(&self, lookup: Lookup<'_>) -> Result<Found, StoreError> {
        self.inner.lookup(lookup).await
    }

    async fn begin(&self, start: &Start<'_>) -> Result<Begun, StoreError> {
        self.maybe_die(Step::BeforeClaim).await;
        let begun = self.inner.begin(start).await?;
        self.maybe_die(Step::AfterClaim).await;
        Ok(begun)
    }

    async fn finish(&self, end: &End<'_>) -> Result<Finished, StoreError> {
        self.maybe_die(Step::AfterSend).await;
        let stumble = self.stumbles.lock().unwrap().pop();
        let done = match stumble {
            Some(Stumble::Before) => Err(StoreError("injected: 500 before the write".to_owned())),
            Some(Stumble::AnswerLost) => {
                self.inner.finish(end).await.and(Err(StoreError("injected: answer lost".to_owned())))
            }
            None => self.inner.finish(end).await,
        };
        self.finished.lock().unwrap().push(done.clone().map_err(|e| e.0));
        let done = done?;
        self.maybe_die(Step::AfterDone).await;
        Ok(done)
    }

    async fn receive(&self, receipt: &Receipt) -> Result<Received, StoreError> {
        self.inner.receive(receipt).await
    }

    async fn page(&self, query: &MessageQuery<'_>) -> Result<MessagePage, StoreError> {
        self.inner.page(query).await
    }

    async fn message(&self, id: &str) -> Result<Option<MessageRecord>, StoreError> {
        self.inner.message(id).await
    }

    async fn update_extension(&self, next: &ExtensionRecord, read: &ExtensionRecord) -> Result<bool, StoreError> {
        self.inner.update_extension(next, read).await
    }

    async fn link(&self, hash: &KeyHash) -> Result<Option<RecordingLink>, StoreError> {
        self.inner.link(hash).await
    }

    async fn waiting(&self, message_id: &str) -> Result<Option<Waiting>, StoreError> {
        self.inner.waiting(message_id).await
    }

    async fn resume(&self, resume: &Resume<'_>) -> Result<Resumed, StoreError> {
        self.maybe_die(Step::BeforeClaim).await;
        let resumed = self.inner.resume(resume).await?;
        self.maybe_die(Step::AfterClaim).await;
        Ok(resumed)
    }

    async fn due(&self, now: i64, limit: usize) -> Result<Vec<String>, StoreError> {
        self.inner.due(now, limit).await
    }
}

/// How a platform delivers an event again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// An S3 notification through the SQS queue (template.yaml's settings).
    Sqs { visibility_secs: i64, max_receives: u32 },
    /// S3 or an EventBridge rule invoking the function directly: Lambda
    /// retries a failed event twice, 1 and 2 minutes after the failure.
    Async,
    /// EventBridge's retry policy: exponential backoff from a minute, for
    /// up to 24 hours.
    EventBridge,
}

pub const PLATFORMS: [Platform; 3] =
    [Platform::Sqs { visibility_secs: 180, max_receives: 5 }, Platform::Async, Platform::EventBridge];

/// What a platform did with one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deliveries {
    /// Each delivery: when (test clock), and whether the run succeeded.
    pub runs: Vec<(i64, bool)>,
    /// Given up: the dead-letter queue (or the async on-failure destination).
    pub dead_lettered: bool,
}

/// The function's timeout (template.yaml: the trigger's 30 s).
pub const FUNCTION_TIMEOUT_SECS: i64 = 30;

impl Platform {
    /// The wait after a failed run that ended at `ended`, before delivery
    /// number `failures + 1`; `None` when the platform gives up.
    fn next(self, received: i64, ended: i64, failures: u32) -> Option<i64> {
        match self {
            Platform::Sqs { visibility_secs, max_receives } => {
                (failures < max_receives).then_some(received + visibility_secs)
            }
            Platform::Async => match failures {
                1 => Some(ended + 60),
                2 => Some(ended + 120),
                _ => None,
            },
            Platform::EventBridge => {
                let wait = 60i64 << (failures - 1).min(10);
                let at = ended + wait;
                (at - received <= 86_400 || failures < 3).then_some(at)
            }
        }
    }

    /// Delivers one event until a run succeeds or the platform gives up.
    /// `run` gets the invocation's deadline (epoch ms) and answers whether
    /// it succeeded; a run that `died` never answers, and the platform sees
    /// it fail at the function's timeout.
    pub async fn deliver<F, Fut>(self, clock: &AtomicI64, died: &tokio::sync::Notify, mut run: F) -> Deliveries
    where
        F: FnMut(u64) -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        let mut runs = Vec::new();
        let mut failures = 0;
        loop {
            let received = clock.load(Ordering::SeqCst);
            let deadline_ms = u64::try_from((received + FUNCTION_TIMEOUT_SECS) * 1000).unwrap_or(0);
            let (ok, ended) = tokio::select! {
                ok = run(deadline_ms) => (ok, received + 1),
                // Died: Lambda reports a timeout at the deadline.
                () = died.notified() => (false, received + FUNCTION_TIMEOUT_SECS),
            };
            runs.push((received, ok));
            if ok {
                return Deliveries { runs, dead_lettered: false };
            }
            failures += 1;
            match self.next(received, ended, failures) {
                Some(at) => clock.store(at, Ordering::SeqCst),
                None => return Deliveries { runs, dead_lettered: true },
            }
        }
    }
}

/// Every backend with `config` applied, each with a test clock at `t0`.
pub async fn backends_at(config: &str, t0: i64) -> Vec<(crate::Backend, Arc<AtomicI64>)> {
    let mut all = Vec::new();
    for b in crate::backends().await {
        b.apply(config).await;
        all.push((b, Arc::new(AtomicI64::new(t0))));
    }
    all
}

/// The service over a dying store, with the backend's gateway and the test
/// clock.
pub fn dying_service(b: &crate::Backend, clock: &Arc<AtomicI64>) -> (Service, Arc<Dying>) {
    let dying = Dying::new(b.store.clone());
    let service = Service::new(dying.clone(), b.gateway.clone(), b.policy.clone(), clock.clone());
    (service, dying)
}
