//! Domain types, each validated when it is built: holding one means it is
//! well-formed.

mod cursor;
mod ids;
mod keys;
mod link;
mod message;
mod model;
mod phone;
mod receipt;
mod template;
pub mod text;

pub use cursor::Cursor;
pub use ids::{Extension, TenantId};
pub use link::{LinkToken, RecordingLink};
pub use keys::{ApiKeySecret, KeyHash, MAX_PRESENTED_KEY_LEN, Permission, STRONG_SECRET_BITS, TenantScope, sha256_hex};
pub use message::{Encoding, MessageText, MAX_SEGMENTS};
pub use model::{
    ApiKey, DeliveryReceipt, ExtensionRecord, MessageKind, MessageRecord, MessageStatus, Owner,
    RateLimits, SmsNumber, Tenant, Window,
};
pub use receipt::Receipt;
pub use phone::{CountryCode, E164, warm_up};
pub use template::{Template, VoicemailDetails, DEFAULT_VOICEMAIL_TEXT};
