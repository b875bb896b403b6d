use lambda_runtime::LambdaEvent;
use serde_json::Value;
use shared::service::Service;
use shared::trigger::{KeyLayout, process};

/// Any event shape the trigger accepts; what it is, `process` tells. Claims
/// taken for its voicemails last until the invocation's deadline (a
/// context without one, as a local invocation builds, leaves it unknown).
pub async fn handle(service: &Service, layout: &KeyLayout, event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    let deadline = Some(event.context.deadline).filter(|d| *d > 0);
    Ok(process(service, layout, &event.payload, deadline).await.into_response()?)
}
