//! Domain types, each validated when it is built: holding one means it is
//! well-formed.

mod cursor;
mod error;
mod ids;
mod keys;
mod link;
mod message;
mod model;
mod phone;
mod receipt;
mod template;
pub mod text;
pub mod times;
pub mod ttl_map;

pub use cursor::Cursor;
pub use error::DomainError;
pub use ids::{Extension, TenantId};
pub use link::{LinkToken, RecordingLink};
pub use keys::{ApiKeySecret, KeyHash, MAX_PRESENTED_KEY_LEN, Permission, TenantScope, sha256_hex};
pub use message::{Encoding, MessageText, MAX_SEGMENTS};
pub use model::{
    ApiKey, DeliveryReceipt, ExtensionRecord, MessageKind, MessageRecord, MessageStatus, Owner,
    RateLimits, SmsNumber, Tenant, Window,
};
pub use receipt::{Receipt, status_log_line};
pub use phone::{CountryCode, E164, warm_up};
pub use template::{Template, VoicemailDetails, DEFAULT_VOICEMAIL_TEXT};
