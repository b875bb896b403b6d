use lambda_runtime::LambdaEvent;
use serde_json::Value;
use shared::service::Service;
use shared::trigger::{KeyLayout, process};

/// Any event shape the trigger accepts; what it is, `process` tells.
pub async fn handle(service: &Service, layout: &KeyLayout, event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    Ok(process(service, layout, &event.payload).await.into_response()?)
}
