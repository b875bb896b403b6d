use lambda_runtime::LambdaEvent;
use serde_json::Value;
use shared::inbound::receipts::{Report, process};
use shared::service::Service;

/// A CloudWatch Logs subscription event of delivery status records; what it
/// is, `process` tells, record by record.
pub async fn handle(service: &Service, event: LambdaEvent<Value>) -> Result<Report, lambda_runtime::Error> {
    Ok(process(service, &event.payload).await?)
}
