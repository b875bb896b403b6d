use lambda_http::{Body, Request, Response};
use shared::api::{self, HttpRequest, rest::Endpoint};
use shared::service::Service;

pub async fn handle(service: &Service, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let http = HttpRequest::of(&req);
    let response = match req.uri().path() {
        "/api/sms/notifications/voicemail" => api::rest::respond(service, Endpoint::Voicemail, &http).await,
        _ => api::not_found(),
    };
    Ok(response.map(Body::from))
}
