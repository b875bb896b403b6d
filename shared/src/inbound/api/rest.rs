//! The REST API: `POST /api/sms/send`, `POST /api/sms/notifications/voicemail`,
//! `GET /api/sms/messages`, `GET /api/sms/messages/{id}`. JSON in, JSON
//! out, `X-API-Key` header; HTTP statuses per CONTRACT.md.

use http::{Method, Response, StatusCode};
use serde_json::{Map, Value};

use super::params::Params;
use super::views::{ExtensionState, Message, Messages};
use super::{HttpRequest, error_response, json_response, log_failure, presented_key, refuse_method};
use crate::domain::{E164, Extension, MessageStatus, MessageText, TenantId, times};
use crate::service::{
    Answer, ApiAction, ApiCall, ApiRequest, ApiStyle, Error, Names, PageQuery, Result, Service, fingerprint,
};

/// Which REST endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint<'a> {
    Send,
    Voicemail,
    Messages,
    Message(&'a str),
}

impl Endpoint<'_> {
    /// Fields each body (or query) may hold, in the order their checks run.
    fn fields(self) -> &'static [&'static str] {
        match self {
            Endpoint::Send => &["to", "message", "server"],
            Endpoint::Voicemail => &["extension", "message", "server"],
            Endpoint::Messages => &["since", "until", "status", "to", "limit", "cursor", "server"],
            Endpoint::Message(_) => &["server"],
        }
    }

    fn method(self) -> Method {
        match self {
            Endpoint::Send | Endpoint::Voicemail => Method::POST,
            Endpoint::Messages | Endpoint::Message(_) => Method::GET,
        }
    }
}

/// A page of the log holds at most this many messages (50 by default).
pub const MAX_PAGE: usize = 100;

/// Idempotency keys are opaque to us but bounded.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

pub async fn respond(service: &Service, endpoint: Endpoint<'_>, req: &HttpRequest<'_>) -> Response<String> {
    if let Some(refused) = refuse_method(req.method, &[endpoint.method()]) {
        return refused;
    }
    let result = match parse(endpoint, req) {
        Ok(call) => service.api(call).await,
        Err(e) => Err(e),
    };
    answer(result)
}

pub fn status(e: &Error) -> StatusCode {
    match e {
        Error::InvalidApiKey | Error::NotSignedIn | Error::SignInRefused => StatusCode::UNAUTHORIZED,
        Error::FormExpired | Error::NotYours => StatusCode::FORBIDDEN,
        Error::InvalidSetting(_) => StatusCode::BAD_REQUEST,
        Error::TooManySignIns { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::KeyNotForSms
        | Error::KeyNotForExtensions
        | Error::KeyNotForTenant
        | Error::ApiDisabled
        | Error::TenantInactive
        | Error::VoicemailDisabled
        | Error::ExtensionDisabled => StatusCode::FORBIDDEN,
        Error::UnknownTenant(_)
        | Error::UnknownExtension(_)
        | Error::UnknownMessage(_)
        | Error::UnknownRecordingLink => StatusCode::NOT_FOUND,
        Error::RecordingLinkExpired | Error::RecordingGone => StatusCode::GONE,
        Error::UnknownAction(_)
        | Error::MissingField(_)
        | Error::InvalidField { .. }
        | Error::UnknownField(_)
        | Error::QueryNotAccepted
        | Error::MalformedJson(_)
        | Error::EmptyMessage
        | Error::MessageTooLong { .. } => StatusCode::BAD_REQUEST,
        Error::BodyTooLarge(_) | Error::RecordingTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
        Error::InvalidSender
        | Error::NoDestination
        | Error::CountryNotAllowed { .. }
        | Error::OptedOut
        | Error::IdempotencyMismatch => StatusCode::UNPROCESSABLE_ENTITY,
        Error::IdempotencyInProgress => StatusCode::CONFLICT,
        Error::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        Error::ProviderRejected(_) | Error::ProviderUnavailable(_) => StatusCode::BAD_GATEWAY,
        Error::Storage(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub fn answer(result: Result<Answer>) -> Response<String> {
    match result {
        Ok(answer) => ok(&answer),
        Err(e) => {
            log_failure(&e);
            let text = match e {
                // The REST API has one text for both switches being off.
                Error::TenantInactive => Error::ApiDisabled.to_string(),
                ref e => e.to_string(),
            };
            error_response(status(&e), &text)
        }
    }
}

fn ok(answer: &Answer) -> Response<String> {
    match answer {
        Answer::Sent(sent) => json_response(StatusCode::OK, sent),
        Answer::Page(page) => {
            let next_cursor = Some(page.next.as_ref().map(|c| c.encode()));
            json_response(StatusCode::OK, &Messages { messages: Message::all(&page.messages), next_cursor })
        }
        Answer::Message(m) => json_response(StatusCode::OK, &Message::of(m)),
        Answer::Reports { messages, .. } => {
            json_response(StatusCode::OK, &Messages { messages: Message::all(messages), next_cursor: None })
        }
        Answer::ExtensionState { on } | Answer::ExtensionSet { on } => {
            json_response(StatusCode::OK, &ExtensionState { sms_notifications: *on })
        }
    }
}

/// Splits a request into an API call: the key, what it names, and its
/// shape to check once the key is known. A JSON body is tokenized here
/// (linear, bounded by the size limit); its fields are validated later.
pub fn parse<'a>(endpoint: Endpoint<'a>, req: &HttpRequest<'_>) -> Result<ApiCall<'a>> {
    if req.too_large() {
        return Err(Error::BodyTooLarge(super::MAX_REQUEST_BYTES));
    }
    let call = |names, shape, idempotency| ApiCall {
        style: ApiStyle::Rest,
        key: presented_key(req, Ok(None)),
        names,
        shape,
        idempotency,
        deadline: req.deadline,
    };
    if endpoint.method() == Method::GET {
        let params = Params::parse_strict(req.query);
        let names = Names { tenant: params.tenant().ok().flatten(), ..Names::default() };
        return Ok(call(names, Box::new(move || read_request(endpoint, &params)), None));
    }
    // A POST's fields are its body's: a query string beside it would be
    // read by a proxy and ignored here.
    if req.query.is_some_and(|q| !q.is_empty()) {
        return Ok(call(Names::default(), Box::new(|| Err(Error::QueryNotAccepted)), None));
    }
    let mut keys = req.headers.get_all("idempotency-key").iter().map(|v| v.as_bytes());
    let idempotency = match (keys.next(), keys.next()) {
        (None, _) => None,
        // Once, visible ASCII only: no spaces, no control characters.
        (Some(k), None) if (1..=MAX_IDEMPOTENCY_KEY_LEN).contains(&k.len()) && k.iter().all(u8::is_ascii_graphic) => {
            Some((String::from_utf8_lossy(k).into_owned(), fingerprint(&[endpoint_tag(endpoint), req.body].concat())))
        }
        (Some(_), _) => {
            let refused = || Err(Error::invalid("Idempotency-Key", "1 to 255 visible ASCII characters"));
            return Ok(call(Names::default(), Box::new(refused), None));
        }
    };
    let members = Members::parse(req.body);
    let names = Names { sends: true, ..members.as_ref().map(Members::names).unwrap_or_default() };
    Ok(call(names, Box::new(move || request(endpoint, members?)), idempotency))
}

fn endpoint_tag(endpoint: Endpoint<'_>) -> &'static [u8] {
    match endpoint {
        Endpoint::Send => b"send\n",
        Endpoint::Voicemail => b"voicemail\n",
        Endpoint::Messages | Endpoint::Message(_) => b"read\n",
    }
}

/// The GET endpoints: their query parameters.
fn read_request(endpoint: Endpoint<'_>, params: &Params) -> Result<ApiRequest> {
    params.only(endpoint.fields())?;
    let action = match endpoint {
        Endpoint::Message(id) => {
            let ok = id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
            if !ok {
                return Err(Error::invalid("id", "a message id"));
            }
            ApiAction::Message(id.to_owned())
        }
        _ => ApiAction::Messages(page_query(params)?),
    };
    Ok(ApiRequest { tenant: params.tenant()?, action })
}

fn page_query(params: &Params) -> Result<PageQuery> {
    const TIME: &str = "a time in RFC 3339, e.g. 2026-11-27T10:00:00Z";
    let time = |name: &'static str| -> Result<Option<i64>> {
        params.get(name)?.map(|t| times::parse_rfc3339(t).ok_or(Error::invalid(name, TIME))).transpose()
    };
    let status = match params.get("status")? {
        None => None,
        Some(s) => Some(s.parse::<MessageStatus>().map_err(|()| Error::invalid("status", MessageStatus::EXPECTED))?),
    };
    let limit = match params.get("limit")? {
        None => 50,
        Some(l) => l
            .parse()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or(Error::invalid("limit", "a whole number from 1 to 100"))?,
    };
    Ok(PageQuery {
        since: time("since")?,
        until: time("until")?,
        status,
        to: params.e164("to")?,
        limit,
        after: params.cursor("cursor")?,
    })
}

/// The POST endpoints: their JSON body, each field given once.
fn request(endpoint: Endpoint<'_>, members: Members) -> Result<ApiRequest> {
    let mut body = Map::new();
    for (name, value) in members.0 {
        let Some(field) = endpoint.fields().iter().find(|f| **f == name) else {
            return Err(Error::UnknownField(name));
        };
        if body.insert(name, value).is_some() {
            return Err(Error::invalid(field, "a single value"));
        }
    }
    let action = match endpoint {
        Endpoint::Send => {
            let to =
                E164::parse(required_str(&body, "to", E164::EXPECTED)?).ok_or(Error::invalid("to", E164::EXPECTED))?;
            let text = MessageText::new(required_str(&body, "message", "a text")?)?;
            ApiAction::Send { to, text }
        }
        Endpoint::Voicemail => {
            let extension = Extension::parse(required_str(&body, "extension", Extension::EXPECTED)?)
                .ok_or(Error::invalid("extension", Extension::EXPECTED))?;
            let text = match body.get("message") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(MessageText::new(s.as_str())?),
                Some(_) => return Err(Error::invalid("message", "a text")),
            };
            ApiAction::VoicemailNotify { extension, text }
        }
        Endpoint::Messages | Endpoint::Message(_) => {
            return Err(Error::Internal("a read endpoint has no body".to_owned()));
        }
    };
    Ok(ApiRequest { tenant: body.get("server").map(server).transpose()?.flatten(), action })
}

/// `server`: a tenant id, as a string or a number; `null` names none.
fn server(value: &Value) -> Result<Option<TenantId>> {
    let invalid = || Error::invalid("server", TenantId::EXPECTED);
    match value {
        Value::Null => Ok(None),
        Value::String(s) => TenantId::parse(s).map(Some).ok_or_else(invalid),
        Value::Number(n) => n.as_u64().and_then(|n| TenantId::parse(&n.to_string())).map(Some).ok_or_else(invalid),
        _ => Err(invalid()),
    }
}

/// A JSON object's members as sent, in order, repeats included (a map
/// would silently keep the last of a repeated key).
struct Members(Vec<(String, Value)>);

impl Members {
    fn parse(body: &[u8]) -> Result<Members> {
        serde_json::from_slice(body).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => Error::MalformedJson("expected a JSON object".to_owned()),
            _ => Error::MalformedJson(e.to_string()),
        })
    }

    /// The tenant and extension named, when well-formed.
    fn names(&self) -> Names {
        let first = |name: &str| self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        Names {
            tenant: first("server").and_then(|v| server(v).ok().flatten()),
            extension: first("extension").and_then(Value::as_str).and_then(Extension::parse),
            sends: false,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        d.deserialize_map(Visit)
    }
}

fn required_str<'a>(body: &'a Map<String, Value>, name: &'static str, expected: &'static str) -> Result<&'a str> {
    match body.get(name) {
        None | Some(Value::Null) => Err(Error::MissingField(name)),
        Some(Value::String(s)) if s.is_empty() => Err(Error::MissingField(name)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(Error::invalid(name, expected)),
    }
}
