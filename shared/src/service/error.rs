//! The one error type of the product. Its texts are the contract's, exactly;
//! each API style maps it once (`inbound::api::action`, `inbound::api::rest`).

use crate::domain::{DomainError, Window};
use crate::ports::{GatewayError, StoreError};

/// Everything that can stop an SMS. `Display` is the text an API caller sees
/// (the REST wording; the action API rewrites the one case where the guide
/// prints another text). Infrastructure variants carry their cause for the log
/// only: their public text is generic.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Error {
    #[error("Invalid API key.")]
    InvalidApiKey,
    #[error("API key does not allow SMS actions")]
    KeyNotForSms,
    #[error("API key is not allowed for this tenant")]
    KeyNotForTenant,
    #[error("API key does not allow changing extensions")]
    KeyNotForExtensions,
    #[error("Unknown action: {0}")]
    UnknownAction(String),
    #[error("Required field '{0}' is missing")]
    MissingField(&'static str),
    #[error("Required field '{field}' contains invalid data ({expected})")]
    InvalidField { field: &'static str, expected: &'static str },
    #[error("Unknown field '{0}'")]
    UnknownField(String),
    /// A REST POST with a query string: its fields are its JSON body's.
    #[error("Query parameters are not accepted here: send every field in the JSON body")]
    QueryNotAccepted,
    #[error("Request body is not valid JSON: {0}")]
    MalformedJson(String),
    #[error("Request body is too large: the limit is {0} bytes")]
    BodyTooLarge(usize),
    #[error("Message is empty")]
    EmptyMessage,
    #[error("Message is too long: {segments} SMS segments, at most {max} are allowed")]
    MessageTooLong { segments: usize, max: usize },
    #[error("Unknown tenant: {0}")]
    UnknownTenant(String),
    /// `api_enabled` is No.
    #[error("SMS API is disabled")]
    ApiDisabled,
    /// `active` is No. The REST API answers "SMS API is disabled", the action
    /// API the guide's PBXware text; the trigger logs this text.
    #[error("SMS notifications are not active for this tenant")]
    TenantInactive,
    #[error("Invalid or missing sender SMS number")]
    InvalidSender,
    #[error("Voicemail SMS notifications are disabled")]
    VoicemailDisabled,
    #[error("Unknown extension: {0}")]
    UnknownExtension(String),
    #[error("Unknown message: {0}")]
    UnknownMessage(String),
    #[error("Unknown recording link")]
    UnknownRecordingLink,
    #[error("This recording link has expired")]
    RecordingLinkExpired,
    #[error("The recording is no longer available")]
    RecordingGone,
    #[error("The recording is too large to be served here: the limit is {limit} bytes")]
    RecordingTooLarge { limit: u64 },
    #[error("SMS notifications are disabled for this extension")]
    ExtensionDisabled,
    #[error("Destination does not have an assigned SMS number")]
    NoDestination,
    #[error("Destination country {country} is not allowed for this tenant")]
    CountryNotAllowed { country: String },
    #[error("Destination has opted out of SMS")]
    OptedOut,
    #[error("Rate limit exceeded: at most {limit} SMS per {window} for this tenant")]
    RateLimited { limit: u32, window: Window },
    #[error("Idempotency-Key was already used for a different request")]
    IdempotencyMismatch,
    #[error("A request with this Idempotency-Key is still being processed")]
    IdempotencyInProgress,
    /// The provider answered and refused the message for good.
    #[error("SMS provider failed to send the message")]
    ProviderRejected(String),
    /// The provider could not be reached, timed out, throttled us or is not
    /// allowed yet: worth a retry.
    #[error("SMS provider is unavailable")]
    ProviderUnavailable(String),
    /// The console: no session, or it ended.
    #[error("Please sign in")]
    NotSignedIn,
    #[error("Sign-in failed: this is not an enabled operator key (one with the admin permission)")]
    SignInRefused,
    #[error("Too many failed sign-ins from this address: try again in {minutes} minutes")]
    TooManySignIns { minutes: i64 },
    #[error("This form has expired or did not come from this console: reload the page and try again")]
    FormExpired,
    /// Another tenant's, or the number registry for an operator of some
    /// tenants only.
    #[error("Your operator key does not allow this")]
    NotYours,
    /// A setting refused, with `apply`'s text for it.
    #[error("{0}")]
    InvalidSetting(String),
    #[error("Internal error")]
    Storage(String),
    #[error("Internal error")]
    Internal(String),
}

impl Error {
    /// The cause kept for the log; never shown to a caller.
    pub fn cause(&self) -> Option<&str> {
        match self {
            Error::ProviderRejected(c) | Error::ProviderUnavailable(c) | Error::Storage(c) | Error::Internal(c) => {
                Some(c)
            }
            _ => None,
        }
    }

    /// Infrastructure failures: answered with 5xx and worth retrying later.
    pub fn is_infrastructure(&self) -> bool {
        matches!(self, Error::ProviderUnavailable(_) | Error::Storage(_) | Error::Internal(_))
    }

    /// A failure that a redelivery could cure (the trigger reports it so the
    /// platform retries): infrastructure, and a full minute window.
    /// Everything else is final for that voicemail: a full day, the
    /// provider's refusal, an opt-out, a refused country.
    pub fn is_retryable(&self) -> bool {
        self.is_infrastructure() || matches!(self, Error::RateLimited { window: Window::Minute, .. })
    }

    pub fn invalid(field: &'static str, expected: &'static str) -> Self {
        Error::InvalidField { field, expected }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<DomainError> for Error {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::EmptyMessage => Error::EmptyMessage,
            DomainError::MessageTooLong { segments, max } => Error::MessageTooLong { segments, max },
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Storage(e.0)
    }
}

impl From<GatewayError> for Error {
    fn from(e: GatewayError) -> Self {
        match e {
            GatewayError::OptedOut(_) => Error::OptedOut,
            GatewayError::Rejected(c) => Error::ProviderRejected(c),
            GatewayError::Unavailable(c) => Error::ProviderUnavailable(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domain_refusals_keep_their_text() {
        for e in [DomainError::EmptyMessage, DomainError::MessageTooLong { segments: 11, max: 10 }] {
            assert_eq!(Error::from(e.clone()).to_string(), e.to_string());
        }
    }
}
