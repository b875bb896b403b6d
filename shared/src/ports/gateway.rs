//! Where SMS go: SNS, or the local outbox.

use async_trait::async_trait;

use crate::domain::{E164, MessageKind, MessageText, TenantId};

/// One SMS to send.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingSms<'a> {
    pub tenant: &'a TenantId,
    pub kind: MessageKind,
    pub from: &'a E164,
    pub to: &'a E164,
    pub text: &'a MessageText,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The destination opted out of SMS: final, not retried.
    #[error("destination opted out: {0}")]
    OptedOut(String),
    /// The provider refused this message for good (an invalid parameter:
    /// the number, the text): final, not retried.
    #[error("rejected: {0}")]
    Rejected(String),
    /// Anything a retry may cure: throttled, unreachable, timed out, a 5xx,
    /// a permission missing until an operator adds it.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

#[async_trait]
pub trait SmsGateway: Send + Sync {
    /// Who carries the SMS, as reports name it.
    fn provider(&self) -> &'static str;

    /// Sends one SMS; the provider's message id on success.
    async fn send(&self, sms: OutgoingSms<'_>) -> Result<String, GatewayError>;

    /// Whether the destination has opted out of SMS.
    async fn opted_out(&self, to: &E164) -> Result<bool, GatewayError>;

    /// Opens the connection before the first send (the init phase's
    /// pre-warm). Never fails: the first send connects if this could not.
    async fn prewarm(&self) {}
}
