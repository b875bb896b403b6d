//! The one routing table: which path is which API, and which function
//! serves it, as `template.yaml` wires the HTTP API. Each HTTP function's
//! handler answers its own routes through it; the local server answers all
//! of them.

use futures_util::future::BoxFuture;
use http::Response;

use super::api::{self, HttpRequest, Payload, not_found, rest::Endpoint};
use crate::service::Service;

/// The API routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'a> {
    /// `GET /`, `POST /`: the action API.
    Action,
    /// `POST /api/sms/send`.
    Send,
    /// `GET /api/sms/messages`, `GET /api/sms/messages/{id}`.
    Messages,
    Message(&'a str),
    /// `POST /api/sms/notifications/voicemail`.
    Voicemail,
    /// `GET /r/{token}`: a recording link.
    Recording(&'a str),
    /// `/console` and everything under it: the operator console.
    Console,
}

/// The HTTP functions, each behind its routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    SendSms,
    VoicemailNotify,
    RecordingLink,
    Console,
}

impl<'a> Route<'a> {
    /// The route of a path (already without API Gateway's stage).
    pub fn of(path: &'a str) -> Option<Route<'a>> {
        match path {
            "/" => Some(Route::Action),
            "/api/sms/send" => Some(Route::Send),
            "/api/sms/messages" => Some(Route::Messages),
            "/api/sms/notifications/voicemail" => Some(Route::Voicemail),
            "/console" => Some(Route::Console),
            p if p.starts_with("/console/") => Some(Route::Console),
            p => {
                let last = |prefix: &str| p.strip_prefix(prefix).filter(|s| !s.is_empty() && !s.contains('/'));
                last("/api/sms/messages/").map(Route::Message).or_else(|| last("/r/").map(Route::Recording))
            }
        }
    }

    /// The function that serves it.
    pub fn function(self) -> Function {
        match self {
            Route::Action | Route::Send | Route::Messages | Route::Message(_) => Function::SendSms,
            Route::Voicemail => Function::VoicemailNotify,
            Route::Recording(_) => Function::RecordingLink,
            Route::Console => Function::Console,
        }
    }
}

/// Who answers: one function (its Lambda handler) or every one (the local
/// server), as a type, so that each route's code is linked only where it is
/// served: a function's bootstrap carries its own routes, not the console's.
pub trait Serving {
    /// `None`: every function's routes.
    const FUNCTION: Option<Function>;
}

/// The [`Serving`] types.
pub mod serving {
    use super::{Function, Serving};

    pub enum SendSms {}
    impl Serving for SendSms {
        const FUNCTION: Option<Function> = Some(Function::SendSms);
    }

    pub enum VoicemailNotify {}
    impl Serving for VoicemailNotify {
        const FUNCTION: Option<Function> = Some(Function::VoicemailNotify);
    }

    pub enum RecordingLink {}
    impl Serving for RecordingLink {
        const FUNCTION: Option<Function> = Some(Function::RecordingLink);
    }

    pub enum Console {}
    impl Serving for Console {
        const FUNCTION: Option<Function> = Some(Function::Console);
    }

    /// The local server.
    pub enum Every {}
    impl Serving for Every {
        const FUNCTION: Option<Function> = None;
    }
}

/// Whether `serving` answers `function`'s routes (a constant per
/// [`Serving`] type: the other routes' arms fold away).
const fn serves(serving: Option<Function>, function: Function) -> bool {
    match serving {
        None => true,
        Some(f) => f as u8 == function as u8,
    }
}

/// The answer to a request on `path` if `S` serves its route; 404 otherwise.
///
/// Not an `async fn` on purpose: in a future's state machine an arm's code
/// stays reachable through its resume states even under a constant-false
/// guard, so every function linked every route (the console's pages in
/// send-sms). Here an arm `S` does not serve is plain dead code, and its
/// future is never built; the one allocation per request is the price.
pub fn respond<'a, S: Serving>(
    service: &'a Service,
    path: &'a str,
    req: &'a HttpRequest<'a>,
) -> BoxFuture<'a, Response<Payload>> {
    let text = |answer: BoxFuture<'a, Response<String>>| -> BoxFuture<'a, Response<Payload>> {
        Box::pin(async move { answer.await.map(Payload::Text) })
    };
    match Route::of(path).filter(|r| serves(S::FUNCTION, r.function())) {
        Some(Route::Action) if const { serves(S::FUNCTION, Function::SendSms) } => {
            text(Box::pin(api::action::respond(service, req)))
        }
        Some(Route::Send) if const { serves(S::FUNCTION, Function::SendSms) } => {
            text(Box::pin(api::rest::respond(service, Endpoint::Send, req)))
        }
        Some(Route::Messages) if const { serves(S::FUNCTION, Function::SendSms) } => {
            text(Box::pin(api::rest::respond(service, Endpoint::Messages, req)))
        }
        Some(Route::Message(id)) if const { serves(S::FUNCTION, Function::SendSms) } => {
            text(Box::pin(api::rest::respond(service, Endpoint::Message(id), req)))
        }
        Some(Route::Voicemail) if const { serves(S::FUNCTION, Function::VoicemailNotify) } => {
            text(Box::pin(api::rest::respond(service, Endpoint::Voicemail, req)))
        }
        Some(Route::Recording(token)) if const { serves(S::FUNCTION, Function::RecordingLink) } => {
            Box::pin(api::recording::respond(service, req.method, token))
        }
        Some(Route::Console) if const { serves(S::FUNCTION, Function::Console) } => {
            text(Box::pin(super::console::respond(service, path, req)))
        }
        _ => Box::pin(std::future::ready(not_found().map(Payload::Text))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_serving_type_serves_its_functions_routes() {
        for f in [Function::SendSms, Function::VoicemailNotify, Function::RecordingLink, Function::Console] {
            assert!(serves(None, f));
            assert!(serves(Some(f), f));
        }
        assert!(!serves(serving::SendSms::FUNCTION, Function::Console));
        assert!(!serves(serving::Console::FUNCTION, Function::SendSms));
        assert!(serves(serving::Every::FUNCTION, Function::Console));
    }

    #[test]
    fn routes_go_to_template_yamls_functions() {
        let function = |path| Route::of(path).map(Route::function);
        assert_eq!(function("/"), Some(Function::SendSms));
        assert_eq!(function("/api/sms/send"), Some(Function::SendSms));
        assert_eq!(function("/api/sms/messages"), Some(Function::SendSms));
        assert_eq!(function("/api/sms/messages/0192f8a1"), Some(Function::SendSms));
        assert_eq!(function("/api/sms/notifications/voicemail"), Some(Function::VoicemailNotify));
        assert_eq!(function("/r/AAAAAAAAAAAAAAAAAAAAAA"), Some(Function::RecordingLink));
        assert_eq!(function("/console"), Some(Function::Console));
        assert_eq!(function("/console/tenants/59/extensions"), Some(Function::Console));
        assert_eq!(function("/consoles"), None);
        assert_eq!(function("/api/sms/send/"), None);
        assert_eq!(function("/api/sms/messages/a/b"), None);
    }
}
