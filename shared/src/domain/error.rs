//! What a domain constructor refuses. The service error takes each case
//! over with `From`, with the same text.

/// Why a value could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    #[error("Message is empty")]
    EmptyMessage,
    #[error("Message is too long: {segments} SMS segments, at most {max} are allowed")]
    MessageTooLong { segments: usize, max: usize },
}
