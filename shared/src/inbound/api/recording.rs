//! `GET /r/{token}`: a recording link clicked. A redirect to a freshly
//! presigned URL of the recording (or, locally, the audio itself), or a
//! JSON error that says why not: an unknown or forged link (404), an expired
//! one (410).

use http::{Method, Response, StatusCode, header};

use super::{error_response, log_failure, refuse_method};
use crate::ports::Recording;
use crate::service::Service;

pub async fn respond(service: &Service, method: &Method, token: &str) -> Response<Vec<u8>> {
    if let Some(refused) = refuse_method(method, &[Method::GET, Method::HEAD]) {
        return refused.map(String::into_bytes);
    }
    let answer = match service.recording(token).await {
        Ok(Recording::Redirect(url)) => Response::builder()
            .status(StatusCode::FOUND)
            .header(header::LOCATION, url)
            .header(header::CACHE_CONTROL, "no-store")
            .body(Vec::new()),
        Ok(Recording::Audio { content_type, bytes }) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::CACHE_CONTROL, "private, no-store")
            .body(if method == Method::HEAD { Vec::new() } else { bytes }),
        Err(e) => {
            log_failure(&e);
            return json(super::rest::status(&e), &e.to_string());
        }
    };
    answer.unwrap_or_else(|_| json(StatusCode::INTERNAL_SERVER_ERROR, "Internal error"))
}

fn json(status: StatusCode, text: &str) -> Response<Vec<u8>> {
    error_response(status, text).map(String::into_bytes)
}
