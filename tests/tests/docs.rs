//! Every error text the product can answer is listed in the README and in
//! docs/openapi.yaml, as the contract asks.

// A scenario reads best whole, however long: functions of test code may
// run past clippy.toml's 50 lines.
#![allow(clippy::too_many_lines)]

use integration_tests::repo_path;
use shared::Error;
use shared::domain::Window;
use shared::inbound::api::action::TENANT_INACTIVE_TEXT;

/// Each error with its placeholder values, which the docs write as `<...>`.
fn every_error() -> Vec<(String, Vec<&'static str>)> {
    let errors: Vec<(Error, Vec<&'static str>)> = vec![
        (Error::InvalidApiKey, vec![]),
        (Error::KeyNotForSms, vec![]),
        (Error::KeyNotForTenant, vec![]),
        (Error::KeyNotForExtensions, vec![]),
        (Error::UnknownMessage("X1".into()), vec!["X1"]),
        (Error::UnknownRecordingLink, vec![]),
        (Error::RecordingLinkExpired, vec![]),
        (Error::RecordingGone, vec![]),
        (Error::RecordingTooLarge { limit: shared::service::MAX_RECORDING_BYTES }, vec![]),
        (Error::UnknownAction("X1".into()), vec!["X1"]),
        (Error::MissingField("X1"), vec!["X1"]),
        (Error::InvalidField { field: "X1", expected: "X2" }, vec!["X1", "X2"]),
        (Error::UnknownField("X1".into()), vec!["X1"]),
        (Error::QueryNotAccepted, vec![]),
        (Error::MalformedJson("X1".into()), vec!["X1"]),
        (Error::BodyTooLarge(shared::inbound::api::MAX_REQUEST_BYTES), vec![]),
        (Error::EmptyMessage, vec![]),
        (Error::MessageTooLong { segments: 11, max: shared::domain::MAX_SEGMENTS }, vec!["11"]),
        (Error::UnknownTenant("X1".into()), vec!["X1"]),
        (Error::ApiDisabled, vec![]),
        (Error::TenantInactive, vec![]),
        (Error::InvalidSender, vec![]),
        (Error::VoicemailDisabled, vec![]),
        (Error::UnknownExtension("X1".into()), vec!["X1"]),
        (Error::ExtensionDisabled, vec![]),
        (Error::NoDestination, vec![]),
        (Error::CountryNotAllowed { country: "X1".into() }, vec!["X1"]),
        (Error::OptedOut, vec![]),
        (Error::RateLimited { limit: 7, window: Window::Minute }, vec!["7", "minute"]),
        (Error::IdempotencyMismatch, vec![]),
        (Error::IdempotencyInProgress, vec![]),
        (Error::ProviderRejected("cause".into()), vec![]),
        (Error::ProviderUnavailable("cause".into()), vec![]),
        (Error::Storage("cause".into()), vec![]),
        (Error::Internal("cause".into()), vec![]),
    ];
    // A new variant must be added above: this match stops compiling.
    for (e, _) in &errors {
        match e {
            Error::InvalidApiKey
            | Error::KeyNotForSms
            | Error::KeyNotForTenant
            | Error::KeyNotForExtensions
            | Error::UnknownMessage(_)
            | Error::UnknownRecordingLink
            | Error::RecordingLinkExpired
            | Error::RecordingGone
            | Error::RecordingTooLarge { .. }
            | Error::UnknownAction(_)
            | Error::MissingField(_)
            | Error::InvalidField { .. }
            | Error::UnknownField(_)
            | Error::QueryNotAccepted
            | Error::MalformedJson(_)
            | Error::BodyTooLarge(_)
            | Error::EmptyMessage
            | Error::MessageTooLong { .. }
            | Error::UnknownTenant(_)
            | Error::ApiDisabled
            | Error::TenantInactive
            | Error::InvalidSender
            | Error::VoicemailDisabled
            | Error::UnknownExtension(_)
            | Error::ExtensionDisabled
            | Error::NoDestination
            | Error::CountryNotAllowed { .. }
            | Error::OptedOut
            | Error::RateLimited { .. }
            | Error::IdempotencyMismatch
            | Error::IdempotencyInProgress
            | Error::ProviderRejected(_)
            | Error::ProviderUnavailable(_)
            | Error::Storage(_)
            | Error::Internal(_) => {}
            // The console's: an HTML page's, listed in docs/console.md.
            Error::NotSignedIn
            | Error::SignInRefused
            | Error::TooManySignIns { .. }
            | Error::FormExpired
            | Error::NotYours
            | Error::InvalidSetting(_) => panic!("{e:?} is the console's"),
        }
    }
    let mut all: Vec<(String, Vec<&str>)> = errors.into_iter().map(|(e, p)| (e.to_string(), p)).collect();
    all.push((TENANT_INACTIVE_TEXT.to_owned(), vec![]));
    all
}

/// The console's own texts (every other error can reach it too).
fn console_errors() -> Vec<(String, Vec<&'static str>)> {
    [
        (Error::NotSignedIn, vec![]),
        (Error::SignInRefused, vec![]),
        (Error::TooManySignIns { minutes: 7 }, vec!["7"]),
        (Error::FormExpired, vec![]),
        (Error::NotYours, vec![]),
    ]
    .into_iter()
    .map(|(e, p)| (e.to_string(), p))
    .collect()
}

fn assert_lists(doc: &str, text: &str, error: &str, placeholders: &[&str]) {
    let mut marked = error.to_owned();
    for p in placeholders {
        marked = marked.replace(p, "\u{0}");
    }
    for piece in marked.split('\u{0}').filter(|p| !p.trim().is_empty()) {
        assert!(text.contains(piece), "{doc} does not list {error:?} ({piece:?})");
    }
}

#[test]
fn every_console_error_text_is_documented() {
    let text = std::fs::read_to_string(repo_path("docs/console.md")).unwrap();
    for (error, placeholders) in console_errors() {
        assert_lists("docs/console.md", &text, &error, &placeholders);
    }
}

#[test]
fn every_error_text_is_documented() {
    for doc in ["README.md", "docs/openapi.yaml"] {
        let text = std::fs::read_to_string(repo_path(doc)).unwrap();
        for (error, placeholders) in every_error() {
            // Only the trigger logs this one; the APIs answer with other texts.
            if doc.ends_with("openapi.yaml") && error == Error::TenantInactive.to_string() {
                continue;
            }
            assert_lists(doc, &text, &error, &placeholders);
        }
    }
}

/// Every route, action and parameter the APIs take is in the OpenAPI file
/// and the README.
#[test]
fn every_route_action_and_parameter_is_documented() {
    use shared::inbound::api::action::{EXTENSION_GET, EXTENSION_SET, REPORTS, SEND_MESSAGE};
    let openapi = std::fs::read_to_string(repo_path("docs/openapi.yaml")).unwrap();
    let readme = std::fs::read_to_string(repo_path("README.md")).unwrap();
    let routes = [
        "/",
        "/api/sms/send",
        "/api/sms/notifications/voicemail",
        "/api/sms/messages",
        "/api/sms/messages/{id}",
        "/r/{token}",
    ];
    for route in routes {
        // Each a path of its own, and routed by the handlers.
        assert!(openapi.contains(&format!("\n  {route}:\n")), "docs/openapi.yaml does not list {route}");
        let concrete = route.replace("{id}", "0192f8a1").replace("{token}", "AQIDBAUGBwgJCgsMDQ4PEA");
        assert!(shared::inbound::routes::Route::of(&concrete).is_some(), "{route} is no route");
    }
    for route in &routes[1..] {
        assert!(
            readme.contains(&route.replace("{id}", "").trim_end_matches('/').to_owned()),
            "README.md does not mention {route}"
        );
    }
    for action in [SEND_MESSAGE, REPORTS, EXTENSION_GET, EXTENSION_SET] {
        assert!(openapi.contains(action), "docs/openapi.yaml does not list {action}");
        let short = action.trim_end_matches(".get").trim_end_matches(".set");
        assert!(readme.contains(short), "README.md does not mention {action}");
    }
    for parameter in [
        "apikey",
        "server",
        "to_number",
        "body",
        "start_date",
        "end_date",
        "start_time",
        "end_time",
        "direction",
        "from_number",
        "type",
        "id",
        "state",
        "since",
        "until",
        "status",
        "limit",
        "cursor",
        "Idempotency-Key",
        "X-API-Key",
    ] {
        assert!(
            openapi.contains(&format!("name: {parameter},")),
            "docs/openapi.yaml does not list the parameter {parameter}"
        );
        assert!(readme.contains(&format!("`{parameter}`")), "README.md does not mention `{parameter}`");
    }
}
