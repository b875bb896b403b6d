use lambda_runtime::LambdaEvent;
use serde_json::Value;
use shared::receipts::process;
use shared::service::Service;

/// A CloudWatch Logs subscription event of delivery status records; what it
/// is, `process` tells, record by record.
pub async fn handle(service: &Service, event: LambdaEvent<Value>) -> Result<Value, lambda_runtime::Error> {
    Ok(process(service, &event.payload).await?.to_json())
}
