//! Domain types, each validated when it is built: holding one means it is
//! well-formed.

mod cursor;
mod digest;
mod error;
mod ids;
mod keys;
mod link;
mod message;
mod model;
mod phone;
mod quiet;
mod receipt;
mod template;
pub mod text;
pub mod times;
mod transcript;
pub mod ttl_map;

pub use cursor::Cursor;
pub use digest::{DigestLine, digest};
pub use error::DomainError;
pub use ids::{Extension, TenantId};
pub use keys::{ApiKeySecret, KeyHash, MAX_PRESENTED_KEY_LEN, Permission, TenantScope, sha256_hex};
pub use link::{LinkToken, RecordingLink};
pub use message::{Encoding, MAX_SEGMENTS, MessageText};
pub use model::{
    ApiKey, DeliveryReceipt, ExtensionRecord, MessageKind, MessageRecord, MessageStatus, Owner, RateLimits, SmsNumber,
    Tenant, UNKNOWN_OUTCOME, Window,
};
pub use phone::{CountryCode, E164, warm_up};
pub use quiet::{QuietHours, QuietSetting};
pub use receipt::{Receipt, status_log_line};
pub use template::{DEFAULT_VOICEMAIL_TEXT, Template, VoicemailDetails};
pub use transcript::{CUT_MARK, Language, MaxSegments, NO_TRANSCRIPT, Provider, Transcript, Transcription, fit};
