use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::LambdaEvent;
use serde_json::Value;
use shared::inbound::trigger::{Summary, send_due};
use shared::service::Service;

/// EventBridge's `Scheduled Event`: what it says beyond its arrival does
/// not matter; what is due is read from the store. Its sends' claims last
/// until the invocation's deadline.
pub async fn handle(
    service: &Service,
    event: LambdaEvent<EventBridgeEvent<Value>>,
) -> Result<Summary, lambda_runtime::Error> {
    let deadline = Some(event.context.deadline).filter(|d| *d > 0);
    Ok(send_due(service, deadline).await?)
}
