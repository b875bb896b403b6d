use lambda_runtime::{run, service_fn};
use shared::startup::{Settings, init_tracing, needs};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let service = Settings::from_env()?.service::<needs::Scheduled>().await?;
    run(service_fn(|event| scheduled_sender::handler::handle(&service, event))).await
}
