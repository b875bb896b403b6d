//! The PBXware-compatible action API: `GET /` and `POST /`. Answers HTTP 200
//! with `success` or `error`; only infrastructure failures answer 5xx.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use http::{Method, Response, StatusCode};
use time::Time;

use super::params::Params;
use super::views::{ActionSent, Message, Messages, Report, ServiceState};
use super::{HttpRequest, error_response, is_form, json_response, log_failure, presented_key, refuse_method};
use crate::domain::{E164, Extension, MessageText, times};
use crate::service::{
    Answer, ApiAction, ApiCall, ApiRequest, ApiStyle, E164Digits, Error, Names, ReportQuery, Result, Service,
};

pub const SEND_MESSAGE: &str = "pbxware.sms.send_message";
pub const REPORTS: &str = "pbxware.sms.reports.list";
pub const EXTENSION_GET: &str = "pbxware.ext.es.smsnotifications.get";
pub const EXTENSION_SET: &str = "pbxware.ext.es.smsnotifications.set";

/// The guide's text for a tenant whose `active` is No.
pub const TENANT_INACTIVE_TEXT: &str = "Action sms_message returned with error: ERR: SMS not enabled for this tenant: ";

/// Standard alphabet; padding optional, since some clients strip it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

pub async fn respond(service: &Service, req: &HttpRequest<'_>) -> Response<String> {
    if let Some(refused) = refuse_method(req.method, &[Method::GET, Method::POST]) {
        return refused;
    }
    let result = match parse(req) {
        Ok(call) => service.api(call).await,
        Err(e) => Err(e),
    };
    answer(result)
}

/// Maps a result to the action API's answer.
pub fn answer(result: Result<Answer>) -> Response<String> {
    match result {
        Ok(answer) => ok(&answer),
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
            error_response(status, &text)
        }
    }
}

/// PBXware's answers: `success` (with what was done), a report, a state.
fn ok(answer: &Answer) -> Response<String> {
    let state = |success, on| ServiceState { success, state: yes_no(on) };
    match answer {
        Answer::Sent(sent) => json_response(StatusCode::OK, &ActionSent { success: "SMS message sent", sent }),
        Answer::Reports { messages, provider } => json_response(StatusCode::OK, &Report { messages, provider }),
        Answer::ExtensionState { on } => json_response(StatusCode::OK, &state(None, *on)),
        Answer::ExtensionSet { on } => {
            json_response(StatusCode::OK, &state(Some("Enhanced service state changed"), *on))
        }
        Answer::Page(page) => {
            json_response(StatusCode::OK, &Messages { messages: Message::all(&page.messages), next_cursor: None })
        }
        Answer::Message(m) => json_response(StatusCode::OK, &Message::of(m)),
    }
}

fn yes_no(on: bool) -> &'static str {
    if on { "yes" } else { "no" }
}

/// Splits a request into an API call: the key, what it names, and its
/// shape to check once the key is known; `Err` only for what stops it
/// before the key is looked at (a body over the size limit).
pub fn parse(req: &HttpRequest<'_>) -> Result<ApiCall<'static>> {
    if req.too_large() {
        return Err(Error::BodyTooLarge(super::MAX_REQUEST_BYTES));
    }
    let params = Params::parse(req.query, (req.method == Method::POST && is_form(req)).then_some(req.body));
    let key = presented_key(req, params.get("apikey"));
    let action = params.get("action").ok().flatten();
    let extension_action = matches!(action, Some(EXTENSION_GET | EXTENSION_SET));
    let names = Names {
        tenant: params.tenant().ok().flatten(),
        extension: extension_action.then(|| params.get("id").ok().flatten().and_then(Extension::parse)).flatten(),
        sends: action == Some(SEND_MESSAGE),
    };
    Ok(ApiCall {
        style: ApiStyle::Action,
        key,
        names,
        shape: Box::new(move || request(&params)),
        idempotency: None,
        deadline: req.deadline,
    })
}

fn request(params: &Params) -> Result<ApiRequest> {
    match params.required("action")? {
        SEND_MESSAGE => send(params),
        REPORTS => Ok(ApiRequest { tenant: params.tenant()?, action: ApiAction::Reports(reports(params)?) }),
        EXTENSION_GET => extension_service(params, false),
        EXTENSION_SET => extension_service(params, true),
        other => Err(Error::UnknownAction(other.to_owned())),
    }
}

fn send(params: &Params) -> Result<ApiRequest> {
    let tenant = params.tenant()?.ok_or(Error::MissingField("server"))?;
    let to = parse_to_number(params.required("to_number")?)?;
    let text = decode_body(params.required("body")?)?;
    Ok(ApiRequest { tenant: Some(tenant), action: ApiAction::Send { to, text } })
}

/// `server`, `id` (the extension) and, to set it, `state` (`yes`, `no`).
fn extension_service(params: &Params, set: bool) -> Result<ApiRequest> {
    let tenant = params.tenant()?.ok_or(Error::MissingField("server"))?;
    let extension = Extension::parse(params.required("id")?).ok_or(Error::invalid("id", Extension::EXPECTED))?;
    let set = match set {
        false => None,
        true => Some(match params.required("state")? {
            "yes" => true,
            "no" => false,
            _ => return Err(Error::invalid("state", "yes or no")),
        }),
    };
    Ok(ApiRequest { tenant: Some(tenant), action: ApiAction::ExtensionService { extension, set } })
}

/// PBXware's report parameters: `start_date`, `end_date` (`mmm-dd-YYYY`),
/// optional `start_time`, `end_time` (`hh:mm:ss`, UTC), `direction`,
/// `from_number`, `to_number` (digits), `type`.
pub fn reports(params: &Params) -> Result<ReportQuery> {
    const DATE: &str = "a date as mmm-dd-YYYY, e.g. Nov-27-2026";
    const TIME: &str = "a time as hh:mm:ss";
    const NUMBER: &str = "1 to 16 digits, without +";
    let date = |name: &'static str| times::parse_report_date(params.required(name)?).ok_or(Error::invalid(name, DATE));
    let time = |name: &'static str, default: Time| match params.get(name)? {
        None => Ok(default),
        Some(t) => times::parse_report_time(t).ok_or(Error::invalid(name, TIME)),
    };
    let number = |name: &'static str| -> Result<Option<E164Digits>> {
        params
            .get(name)?
            .map(|n| {
                let ok = (1..=16).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit());
                ok.then(|| E164Digits(n.to_owned())).ok_or(Error::invalid(name, NUMBER))
            })
            .transpose()
    };
    let (start, end) = (date("start_date")?, date("end_date")?);
    let since = start.with_time(time("start_time", Time::MIDNIGHT)?).assume_utc().unix_timestamp();
    let end_of_day = Time::from_hms(23, 59, 59).unwrap_or(Time::MIDNIGHT);
    let until = end.with_time(time("end_time", end_of_day)?).assume_utc().unix_timestamp();
    if until < since {
        return Err(Error::invalid("end_date", "a date and time not before the start"));
    }
    let direction = match params.get("direction")?.map(str::to_ascii_lowercase).as_deref() {
        None | Some("outbound") => true,
        Some("inbound") => false,
        Some(_) => return Err(Error::invalid("direction", "Inbound or Outbound")),
    };
    let sms = match params.get("type")?.map(str::to_ascii_lowercase).as_deref() {
        None | Some("sms") => true,
        Some("mms") => false,
        Some(_) => return Err(Error::invalid("type", "SMS or MMS")),
    };
    Ok(ReportQuery {
        since,
        until,
        matches_kind: direction && sms,
        from: number("from_number")?,
        to: number("to_number")?,
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
    let bytes = BASE64.decode(restored.as_bytes()).map_err(|_| Error::invalid("body", EXPECTED))?;
    let text = String::from_utf8(bytes).map_err(|_| Error::invalid("body", EXPECTED))?;
    Ok(MessageText::new(text)?)
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
