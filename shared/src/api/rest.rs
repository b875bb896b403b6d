//! The REST API: `POST /api/sms/send` and `POST /api/sms/notifications/voicemail`.
//! JSON in, JSON out, `X-API-Key` header; HTTP statuses per CONTRACT.md.

use http::{Method, Response, StatusCode};
use serde_json::{Map, Value};

use super::{HttpRequest, error_body, header_key, json_response, log_failure, method_not_allowed, sent_body};
use crate::domain::{E164, Extension, MessageText, TenantId};
use crate::service::{ApiAction, ApiCall, ApiRequest, ApiStyle, Sent, Service, fingerprint};
use crate::{Error, Result};

/// Which REST endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Send,
    Voicemail,
}

impl Endpoint {
    /// Fields each body may hold, in the order their checks run.
    fn fields(self) -> &'static [&'static str] {
        match self {
            Endpoint::Send => &["to", "message", "server"],
            Endpoint::Voicemail => &["extension", "message", "server"],
        }
    }
}

/// Idempotency keys are opaque to us but bounded.
const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

pub async fn respond(service: &Service, endpoint: Endpoint, req: &HttpRequest<'_>) -> Response<String> {
    if req.method != Method::POST {
        return method_not_allowed();
    }
    let result = match parse(endpoint, req) {
        Ok(call) => service.api(call).await,
        Err(e) => Err(e),
    };
    answer(result)
}

pub fn status(e: &Error) -> StatusCode {
    match e {
        Error::InvalidApiKey => StatusCode::UNAUTHORIZED,
        Error::KeyNotForSms
        | Error::KeyNotForTenant
        | Error::ApiDisabled
        | Error::TenantInactive
        | Error::VoicemailDisabled
        | Error::ExtensionDisabled => StatusCode::FORBIDDEN,
        Error::UnknownTenant(_) | Error::UnknownExtension(_) => StatusCode::NOT_FOUND,
        Error::UnknownAction(_)
        | Error::MissingField(_)
        | Error::InvalidField { .. }
        | Error::UnknownField(_)
        | Error::MalformedJson(_)
        | Error::EmptyMessage
        | Error::MessageTooLong { .. } => StatusCode::BAD_REQUEST,
        Error::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
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

pub fn answer(result: Result<Sent>) -> Response<String> {
    match result {
        Ok(sent) => json_response(StatusCode::OK, &sent_body(&sent)),
        Err(e) => {
            log_failure(&e);
            let text = match e {
                // The REST API has one text for both switches being off.
                Error::TenantInactive => Error::ApiDisabled.to_string(),
                ref e => e.to_string(),
            };
            json_response(status(&e), &error_body(&text))
        }
    }
}

pub fn parse(endpoint: Endpoint, req: &HttpRequest<'_>) -> Result<ApiCall> {
    if req.too_large() {
        return Err(Error::BodyTooLarge(super::MAX_REQUEST_BYTES));
    }
    let idempotency = match req.headers.get("idempotency-key") {
        None => None,
        Some(v) => match v.to_str() {
            Ok(k) if !k.is_empty() && k.len() <= MAX_IDEMPOTENCY_KEY_LEN => {
                Some((k.to_owned(), fingerprint(&[endpoint_tag(endpoint), req.body].concat())))
            }
            _ => {
                return Ok(ApiCall {
                    style: ApiStyle::Rest,
                    key: header_key(req),
                    request: Err(Error::invalid(
                        "Idempotency-Key",
                        "1 to 255 visible ASCII characters",
                    )),
                    idempotency: None,
                    deadline: req.deadline,
                });
            }
        },
    };
    Ok(ApiCall {
        style: ApiStyle::Rest,
        key: header_key(req),
        request: request(endpoint, req),
        idempotency,
        deadline: req.deadline,
    })
}

fn endpoint_tag(endpoint: Endpoint) -> &'static [u8] {
    match endpoint {
        Endpoint::Send => b"send\n",
        Endpoint::Voicemail => b"voicemail\n",
    }
}

fn request(endpoint: Endpoint, req: &HttpRequest<'_>) -> Result<ApiRequest> {
    let value: Value = serde_json::from_slice(req.body).map_err(|e| Error::MalformedJson(e.to_string()))?;
    let Value::Object(body) = value else {
        return Err(Error::MalformedJson("expected a JSON object".to_owned()));
    };
    if let Some(unknown) = body.keys().find(|k| !endpoint.fields().contains(&k.as_str())) {
        return Err(Error::UnknownField(unknown.clone()));
    }
    let action = match endpoint {
        Endpoint::Send => {
            let to = E164::parse(required_str(&body, "to", E164::EXPECTED)?)
                .ok_or(Error::invalid("to", E164::EXPECTED))?;
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
    };
    let tenant = match body.get("server") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(TenantId::parse(s).ok_or(Error::invalid("server", TenantId::EXPECTED))?),
        Some(Value::Number(n)) => Some(
            n.as_u64()
                .and_then(|n| TenantId::parse(&n.to_string()))
                .ok_or(Error::invalid("server", TenantId::EXPECTED))?,
        ),
        Some(_) => return Err(Error::invalid("server", TenantId::EXPECTED)),
    };
    Ok(ApiRequest { tenant, action })
}

fn required_str<'a>(body: &'a Map<String, Value>, name: &'static str, expected: &'static str) -> Result<&'a str> {
    match body.get(name) {
        None | Some(Value::Null) => Err(Error::MissingField(name)),
        Some(Value::String(s)) if s.is_empty() => Err(Error::MissingField(name)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(Error::invalid(name, expected)),
    }
}
