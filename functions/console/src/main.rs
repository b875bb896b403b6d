use lambda_http::service_fn;
use shared::inbound::lambda::run_http;
use shared::startup::{Settings, init_tracing, needs};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_tracing();
    let service = Settings::from_env()?.service::<needs::Console>().await?;
    run_http(service_fn(|req| console::handler::handle(&service, req))).await
}
