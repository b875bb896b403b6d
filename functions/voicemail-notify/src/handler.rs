use lambda_http::{Body, Request, Response};
use shared::inbound::lambda::api_request;
use shared::inbound::routes::{Function, respond};
use shared::service::Service;

pub async fn handle(service: &Service, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let (path, http) = api_request(&req);
    Ok(respond(service, Some(Function::VoicemailNotify), path, &http).await.map(Body::from))
}
