use lambda_http::{Body, Request, Response};
use shared::inbound::lambda::api_request;
use shared::inbound::routes::{Function, respond};
use shared::service::Service;

pub async fn handle(service: &Service, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    let (path, http) = api_request(&req);
    let response = respond(service, Some(Function::RecordingLink), path, &http).await;
    Ok(response.map(|bytes| if bytes.is_empty() { Body::Empty } else { Body::Binary(bytes) }))
}
