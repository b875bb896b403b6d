use lambda_http::{Body, Request, Response};
use shared::api::{self, Route, rest::Endpoint};
use shared::runtime::api_request;
use shared::service::Service;

/// Routes as the HTTP API does; anything else is 404.
pub async fn handle(service: &Service, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let (path, http) = api_request(&req);
    let response = match Route::of(path) {
        Some(Route::Action) => api::action::respond(service, &http).await,
        Some(Route::Send) => api::rest::respond(service, Endpoint::Send, &http).await,
        Some(Route::Messages) => api::rest::respond(service, Endpoint::Messages, &http).await,
        Some(Route::Message(id)) => api::rest::respond(service, Endpoint::Message(id), &http).await,
        Some(Route::Voicemail | Route::Recording(_)) | None => api::not_found(),
    };
    Ok(response.map(Body::from))
}
