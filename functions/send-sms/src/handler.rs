use lambda_http::{Body, Request, Response};
use shared::api::{self, rest::Endpoint};
use shared::runtime::api_request;
use shared::service::Service;

/// Routes as the HTTP API does; anything else is 404.
pub async fn handle(service: &Service, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let (route, http) = api_request(&req);
    let response = match route {
        "/" => api::action::respond(service, &http).await,
        "/api/sms/send" => api::rest::respond(service, Endpoint::Send, &http).await,
        _ => api::not_found(),
    };
    Ok(response.map(Body::from))
}
