//! What the APIs ask of the service, once parsed, and what it answers.

use serde::{Deserialize, Serialize};

use super::Result;
use crate::domain::{Cursor, E164, Encoding, Extension, MessageRecord, MessageStatus, MessageText, TenantId};
use crate::ports::MessagePage;

/// Which API a request came through: they differ in one text and in how a
/// tenant is named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiStyle {
    /// PBXware-compatible `GET /` and `POST /`.
    Action,
    /// `/api/sms/...`.
    Rest,
}

/// What an API request asks for, once its shape was checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiAction {
    Send {
        to: E164,
        text: MessageText,
    },
    VoicemailNotify {
        extension: Extension,
        text: Option<MessageText>,
    },
    /// PBXware's `pbxware.sms.reports.list`.
    Reports(ReportQuery),
    /// `GET /api/sms/messages`: a page of the message log.
    Messages(PageQuery),
    /// `GET /api/sms/messages/{id}`.
    Message(String),
    /// PBXware's `pbxware.ext.es.smsnotifications.get` (`set: None`) and
    /// `.set`: the per-extension enhanced service.
    ExtensionService {
        extension: Extension,
        set: Option<bool>,
    },
}

impl ApiAction {
    /// The extension the request names, read with the tenant.
    pub fn extension(&self) -> Option<&Extension> {
        match self {
            ApiAction::VoicemailNotify { extension, .. } | ApiAction::ExtensionService { extension, .. } => {
                Some(extension)
            }
            _ => None,
        }
    }
}

/// PBXware's report filters. Every message here is an outbound SMS, so an
/// `Inbound` direction or an `MMS` type matches nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportQuery {
    /// Epoch seconds, both ends included.
    pub since: i64,
    pub until: i64,
    pub matches_kind: bool,
    pub from: Option<E164Digits>,
    pub to: Option<E164Digits>,
}

/// A number as PBXware filters take it: digits, no `+`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct E164Digits(pub String);

impl E164Digits {
    pub fn as_e164(&self) -> String {
        format!("+{}", self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    /// Epoch seconds; by default the last 30 days.
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub status: Option<MessageStatus>,
    pub to: Option<E164>,
    pub limit: usize,
    pub after: Option<Cursor>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// `server`: required in the action API; in the REST API only for keys
    /// scoped to several tenants.
    pub tenant: Option<TenantId>,
    pub action: ApiAction,
}

/// An API call as it arrived. The key is checked before anything else
/// (contract check 1 before check 2): the request's fields are validated
/// only by `shape`, called once the key is known and enabled, so a caller
/// without a valid key costs a hash and one read, never a phone number
/// parse or a Base64 decode.
pub struct ApiCall<'a> {
    pub style: ApiStyle,
    pub key: Option<String>,
    /// What the request names, read together with the key.
    pub names: Names,
    /// Check 2: the request's fields, parsed and validated.
    pub shape: Box<dyn FnOnce() -> Result<ApiRequest> + Send + 'a>,
    /// REST `Idempotency-Key` header, with a fingerprint of the request it
    /// came with.
    pub idempotency: Option<(String, String)>,
    /// The invocation's deadline (epoch milliseconds), when one is known.
    pub deadline: Option<u64>,
}

impl std::fmt::Debug for ApiCall<'_> {
    // The key is a secret: only whether there was one.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiCall")
            .field("style", &self.style)
            .field("key", &self.key.as_ref().map(|_| "<redacted>"))
            .field("names", &self.names)
            .finish_non_exhaustive()
    }
}

/// The tenant and the extension a request names, when their raw values
/// are well-formed (ASCII digits, bounded: cheap to check); anything else
/// is left to the shape's check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Names {
    pub tenant: Option<TenantId>,
    pub extension: Option<Extension>,
    /// The request is one of the send actions (before its shape is checked).
    pub sends: bool,
}

/// A sent SMS, as the APIs report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sent {
    pub id: String,
    pub from: String,
    pub to: String,
    pub segments: usize,
    pub encoding: Encoding,
}

/// What an API request gets.
// Answered once per request and consumed at once: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Sent(Sent),
    /// Reports: the messages of the range, newest first, with the
    /// provider that carried them.
    Reports {
        messages: Vec<MessageRecord>,
        provider: &'static str,
    },
    Page(MessagePage),
    Message(MessageRecord),
    /// An extension's enhanced service, on or off: as read, or as set.
    ExtensionState {
        on: bool,
    },
    ExtensionSet {
        on: bool,
    },
}
