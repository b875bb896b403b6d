//! The PBXware-compatible action API: `GET /` and `POST /`. Answers HTTP 200
//! with `success` or `error`; only infrastructure failures answer 5xx.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use http::{Method, Response, StatusCode};
use serde_json::{Value, json};

use super::{HttpRequest, error_body, header_key, json_response, log_failure, method_not_allowed, sent_body};
use crate::domain::{E164, MessageText, TenantId};
use crate::service::{ApiAction, ApiCall, ApiRequest, ApiStyle, Sent, Service};
use crate::{Error, Result};

pub const SEND_MESSAGE: &str = "pbxware.sms.send_message";

/// The guide's text for a tenant whose `active` is No.
pub const TENANT_INACTIVE_TEXT: &str =
    "Action sms_message returned with error: ERR: SMS not enabled for this tenant: ";

/// Standard alphabet; padding optional, since some clients strip it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub async fn respond(service: &Service, req: &HttpRequest<'_>) -> Response<String> {
    if req.method != Method::GET && req.method != Method::POST {
        return method_not_allowed();
    }
    let result = match parse(req) {
        Ok(call) => service.api(call).await,
        Err(e) => Err(e),
    };
    answer(result)
}

/// Maps a result to the action API's answer.
pub fn answer(result: Result<Sent>) -> Response<String> {
    match result {
        Ok(sent) => {
            let mut body = json!({ "success": "SMS message sent" });
            if let (Some(b), Value::Object(fields)) = (body.as_object_mut(), sent_body(&sent)) {
                b.extend(fields);
            }
            json_response(StatusCode::OK, &body)
        }
        Err(e) => {
            log_failure(&e);
            let status = match e {
                Error::Storage(_) | Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
                Error::ProviderUnavailable(_) => StatusCode::BAD_GATEWAY,
                _ => StatusCode::OK,
            };
            let text = match e {
                Error::TenantInactive => TENANT_INACTIVE_TEXT.to_owned(),
                ref e => e.to_string(),
            };
            json_response(status, &error_body(&text))
        }
    }
}

/// Query string and form body, merged (query first). A parameter given twice
/// with different values is refused rather than guessed at.
struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, name: &'static str) -> Result<Option<&str>> {
        let mut values = self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = values.next();
        if values.any(|v| Some(v) != first) {
            return Err(Error::invalid(name, "a single value"));
        }
        Ok(first.filter(|v| !v.is_empty()))
    }

    fn required(&self, name: &'static str) -> Result<&str> {
        self.get(name)?.ok_or(Error::MissingField(name))
    }
}

/// Parses a request into an API call; `Err` only for what stops it before
/// the key is looked at (a body over the size limit).
pub fn parse(req: &HttpRequest<'_>) -> Result<ApiCall> {
    if req.too_large() {
        return Err(Error::BodyTooLarge(super::MAX_REQUEST_BYTES));
    }
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(req.query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let form = req
        .header("content-type")
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if req.method == Method::POST && form {
        pairs.extend(form_urlencoded::parse(req.body).into_owned());
    }
    let params = Params(pairs);
    let key = match (params.get("apikey"), header_key(req)) {
        (Ok(None), header) => header,
        (Ok(Some(q)), Some(h)) if q != h => None,
        (Ok(Some(q)), _) => Some(q.to_owned()),
        (Err(_), _) => None,
    };
    Ok(ApiCall {
        style: ApiStyle::Action,
        key,
        request: request(&params),
        idempotency: None,
        deadline: req.deadline,
    })
}

fn request(params: &Params) -> Result<ApiRequest> {
    let action = params.required("action")?;
    if action != SEND_MESSAGE {
        return Err(Error::UnknownAction(action.to_owned()));
    }
    let server = params.required("server")?;
    let tenant = TenantId::parse(server).ok_or(Error::invalid("server", TenantId::EXPECTED))?;
    let to = parse_to_number(params.required("to_number")?)?;
    let text = decode_body(params.required("body")?)?;
    Ok(ApiRequest {
        tenant: Some(tenant),
        action: ApiAction::Send { to, text },
    })
}

/// A `+` sent unencoded in a query string arrives as a space; a leading
/// space before digits can only have been that.
fn parse_to_number(raw: &str) -> Result<E164> {
    let fixed;
    let raw = match raw.strip_prefix(' ') {
        Some(rest) => {
            fixed = format!("+{rest}");
            &fixed
        }
        None => raw,
    };
    E164::parse(raw).ok_or(Error::invalid("to_number", E164::EXPECTED))
}

/// Base64 of UTF-8 text. Space is not in the Base64 alphabet, so a space can
/// only be a `+` that the client did not percent-encode: it is read back as
/// `+`.
pub fn decode_body(raw: &str) -> Result<MessageText> {
    const EXPECTED: &str = "Base64-encoded UTF-8 text";
    let restored = raw.replace(' ', "+");
    let bytes = BASE64
        .decode(restored.as_bytes())
        .map_err(|_| Error::invalid("body", EXPECTED))?;
    let text = String::from_utf8(bytes).map_err(|_| Error::invalid("body", EXPECTED))?;
    MessageText::new(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guides_body_decodes() {
        let t = decode_body("WW91IGhhdmUgcmVjZWl2ZWQgYSBuZXcgdm9pY2VtYWlsLg==").unwrap();
        assert_eq!(t.as_str(), "You have received a new voicemail.");
    }

    #[test]
    fn a_plus_that_arrived_as_a_space_is_restored() {
        // "Ok?>>" encodes to "T2s/Pj4+": its '+' is what a careless client loses.
        let encoded = BASE64.encode("Ok?>>>");
        assert!(encoded.contains('+'), "{encoded}");
        let spaced = encoded.replace('+', " ");
        assert_eq!(decode_body(&spaced).unwrap().as_str(), "Ok?>>>");
        assert_eq!(parse_to_number(" 14165551234").unwrap().as_str(), "+14165551234");
    }

    #[test]
    fn malformed_bodies_are_refused() {
        let invalid = "Required field 'body' contains invalid data (Base64-encoded UTF-8 text)";
        for bad in ["@@@", "WW91-_", "/w==", "WW91IGhhdmU=garbage"] {
            assert_eq!(decode_body(bad).unwrap_err().to_string(), invalid, "{bad}");
        }
        assert_eq!(decode_body("ICAg").unwrap_err(), Error::EmptyMessage);
    }
}
