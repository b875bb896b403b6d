use lambda_http::{Body, Request, Response};
use shared::inbound::lambda::api_request;
use shared::inbound::routes::{Function, respond};
use shared::service::Service;

/// Routes as the HTTP API does; anything else is 404.
pub async fn handle(service: &Service, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let (path, http) = api_request(&req);
    Ok(respond(service, Some(Function::SendSms), path, &http).await.map(Body::from))
}
