//! What the service counts. No phone number, no key, no text is ever part
//! of a metric: events carry kinds, reasons and tenant ids.

use crate::domain::{MessageKind, TenantId, Window};

/// One thing that happened to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// The provider took it, after this long (ms).
    Sent { kind: MessageKind, tenant: &'a TenantId, latency_ms: u64 },
    /// The provider's attempt failed; retried when it was a voicemail.
    Failed { kind: MessageKind, reason: &'static str },
    /// Refused for good: a country, an opt-out, the provider's refusal.
    Refused { kind: MessageKind, reason: &'static str },
    /// A budget's window was full.
    RateLimited { kind: MessageKind, window: Window },
    /// A voicemail that does not qualify.
    Skipped { reason: &'static str },
    /// Another delivery (or an Idempotency-Key's replay) had done it.
    Duplicate { kind: MessageKind },
    /// A voicemail SMS held by its extension's quiet hours.
    Held { tenant: &'a TenantId },
    /// A held voicemail sent at its quiet hours' end (alone, or in a
    /// digest: one for each voicemail it carries).
    Released { tenant: &'a TenantId },
    /// The carrier delivered it, or did not (the provider's receipt).
    Receipt { tenant: &'a TenantId, delivered: bool },
}

/// Where events go.
pub trait Metrics: Send + Sync {
    fn record(&self, event: &Event<'_>);
}

/// Counts nothing: the local server and tools.
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn record(&self, _: &Event<'_>) {}
}
