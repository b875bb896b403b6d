//! `GET /r/{token}`: a recording link clicked. A redirect to a freshly
//! presigned URL of the recording (or, locally, the audio itself, which the
//! server then streams), or a JSON error that says why not: an unknown or
//! forged link (404), an expired one or a recording gone (410), one too
//! large to serve (413). `HEAD` answers from the file's length, unread.

use http::{Method, Response, StatusCode, header};

use super::{Payload, error_response, log_failure, refuse_method};
use crate::ports::Recording;
use crate::service::Service;

pub async fn respond(service: &Service, method: &Method, token: &str) -> Response<Payload> {
    if let Some(refused) = refuse_method(method, &[Method::GET, Method::HEAD]) {
        return refused.map(Payload::Text);
    }
    let answer = match service.recording(token).await {
        Ok(Recording::Redirect(url)) => Response::builder()
            .status(StatusCode::FOUND)
            .header(header::LOCATION, url)
            .header(header::CACHE_CONTROL, "no-store")
            .body(Payload::Text(String::new())),
        Ok(Recording::Audio { content_type, file, len }) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::CONTENT_LENGTH, len)
            .header(header::CACHE_CONTROL, "private, no-store")
            .body(if method == Method::HEAD { Payload::Text(String::new()) } else { Payload::Audio { file, len } }),
        Err(e) => {
            log_failure(&e);
            return error_response(super::rest::status(&e), &e.to_string()).map(Payload::Text);
        }
    };
    answer.unwrap_or_else(|_| error_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal error").map(Payload::Text))
}
