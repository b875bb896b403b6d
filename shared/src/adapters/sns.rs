//! PLACEHOLDER until the SNS adapter lands (issue 3).
use async_trait::async_trait;
pub struct SnsGateway;
impl SnsGateway {
    pub fn new(_aws: &aws_config::SdkConfig) -> Self {
        SnsGateway
    }
}
#[async_trait]
impl crate::ports::SmsGateway for SnsGateway {
    async fn send(&self, _s: crate::ports::OutgoingSms<'_>) -> Result<String, crate::ports::GatewayError> { Err(crate::ports::GatewayError::Unavailable("todo".into())) }
    async fn opted_out(&self, _t: &crate::domain::E164) -> Result<bool, crate::ports::GatewayError> { Ok(false) }
}
