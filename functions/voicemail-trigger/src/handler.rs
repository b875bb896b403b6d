use lambda_runtime::LambdaEvent;
use serde_json::Value;
use shared::inbound::trigger::{Answer, KeyLayout, process};
use shared::service::Service;

/// Any event shape the trigger accepts; what it is, `process` tells. Claims
/// taken for its voicemails last until the invocation's deadline (a
/// context without one, as a local invocation builds, leaves it unknown).
pub async fn handle(
    service: &Service,
    layout: &KeyLayout,
    event: LambdaEvent<Value>,
) -> Result<Answer, lambda_runtime::Error> {
    let deadline = Some(event.context.deadline).filter(|d| *d > 0);
    Ok(process(service, layout, &event.payload, deadline).await.into_response()?)
}
