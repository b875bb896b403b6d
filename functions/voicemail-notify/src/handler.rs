use lambda_http::{Body, Request, Response};
use shared::api::{self, rest::Endpoint};
use shared::runtime::api_request;
use shared::service::Service;

pub async fn handle(service: &Service, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let (route, http) = api_request(&req);
    let response = match route {
        "/api/sms/notifications/voicemail" => api::rest::respond(service, Endpoint::Voicemail, &http).await,
        _ => api::not_found(),
    };
    Ok(response.map(Body::from))
}
