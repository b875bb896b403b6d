//! PLACEHOLDER until the DynamoDB adapter lands (issue 3).
use async_trait::async_trait;
pub struct DynamoStore;
impl DynamoStore {
    pub fn new(_aws: &aws_config::SdkConfig, _table: &str) -> Self {
        DynamoStore
    }
}
#[async_trait]
impl crate::ports::Store for DynamoStore {
    async fn lookup(&self, _l: crate::ports::Lookup<'_>) -> Result<crate::ports::Found, crate::ports::StoreError> { Err(crate::ports::StoreError("todo".into())) }
    async fn claim(&self, _id: &str, _f: &str, _n: i64, _l: i64) -> Result<Option<crate::ports::Held>, crate::ports::StoreError> { Err(crate::ports::StoreError("todo".into())) }
    async fn finish_claim(&self, _id: &str, _r: &str, _n: i64, _k: i64) -> Result<(), crate::ports::StoreError> { Err(crate::ports::StoreError("todo".into())) }
    async fn release_claim(&self, _id: &str) -> Result<(), crate::ports::StoreError> { Err(crate::ports::StoreError("todo".into())) }
    async fn take_rate(&self, _t: &crate::domain::TenantId, _l: crate::domain::RateLimits, _n: i64) -> Result<Option<crate::domain::Window>, crate::ports::StoreError> { Err(crate::ports::StoreError("todo".into())) }
    async fn record_message(&self, _r: &crate::domain::MessageRecord, _k: i64) -> Result<(), crate::ports::StoreError> { Err(crate::ports::StoreError("todo".into())) }
}
