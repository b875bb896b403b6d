use lambda_http::{Body, Request, Response};
use shared::api::{self, Route};
use shared::runtime::api_request;
use shared::service::Service;

pub async fn handle(service: &Service, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let (path, http) = api_request(&req);
    let response = match Route::of(path) {
        Some(Route::Recording(token)) => api::recording::respond(service, http.method, token).await,
        _ => api::not_found().map(String::into_bytes),
    };
    Ok(response.map(|bytes| if bytes.is_empty() { Body::Empty } else { Body::Binary(bytes) }))
}
