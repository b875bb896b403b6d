use lambda_http::{Body, Request, Response};
use shared::inbound::lambda::respond;
use shared::inbound::routes::serving;
use shared::service::Service;

/// Its routes, as the HTTP API routes them to it; any other path is 404.
pub async fn handle(service: &Service, req: Request) -> Result<Response<Body>, lambda_http::Error> {
    Ok(respond::<serving::RecordingLink>(service, req).await)
}
