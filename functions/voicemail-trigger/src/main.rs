use lambda_runtime::{run, service_fn};
use shared::startup::{Settings, init_tracing, needs};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let settings = Settings::from_env()?;
    let service = settings.service::<needs::SmsAndDetails>().await?;
    run(service_fn(|event| voicemail_trigger::handler::handle(&service, &settings.layout, event))).await
}
