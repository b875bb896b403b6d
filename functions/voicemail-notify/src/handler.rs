use lambda_http::{Body, Request, Response};
use shared::api::{self, Route, rest::Endpoint};
use shared::runtime::api_request;
use shared::service::Service;

pub async fn handle(service: &Service, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let (path, http) = api_request(&req);
    let response = match Route::of(path) {
        Some(Route::Voicemail) => api::rest::respond(service, Endpoint::Voicemail, &http).await,
        _ => api::not_found(),
    };
    Ok(response.map(Body::from))
}
