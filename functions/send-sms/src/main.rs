use lambda_http::{run, service_fn};
use shared::settings::{Settings, init_tracing};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    init_tracing();
    let service = Settings::from_env()?.service().await?;
    run(service_fn(|req| send_sms::handler::handle(&service, req))).await
}
