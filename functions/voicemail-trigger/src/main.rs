use lambda_runtime::{run, service_fn};
use shared::settings::{Settings, init_tracing};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let settings = Settings::from_env()?;
    let service = settings.service().await?;
    run(service_fn(|event| voicemail_trigger::handler::handle(&service, &settings.layout, event))).await
}
