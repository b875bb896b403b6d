//! The production SMS gateway: SNS `Publish` to a phone number, from the
//! tenant's sender number (`AWS.MM.SMS.OriginationNumber`), as a
//! transactional SMS.
//!
//! A `Publish` that timed out, lost its connection or got a 5xx may have
//! reached SNS: sending it again may send the SMS twice. So the SDK retries
//! a `Publish` only when SNS answered that it throttled it (it took
//! nothing); every other failure goes to the caller as `Unavailable`, whose
//! own retry knows more: the trigger's platform retry under the voicemail's
//! claim, an API client's retry with an `Idempotency-Key`. A voicemail is
//! never lost to an unanswered `Publish`; it may, in that case only, be sent
//! twice (README, "Exactly once").

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::config::http::HttpResponse;
use aws_sdk_sns::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sns::operation::publish::PublishError;
use aws_sdk_sns::types::MessageAttributeValue;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};

use crate::domain::E164;
use crate::domain::ttl_map::TtlMap;
use crate::ports::{GatewayError, OutgoingSms, SharedClock, SmsGateway};

pub const SMS_TYPE: &str = "AWS.SNS.SMS.SMSType";
pub const ORIGINATION_NUMBER: &str = "AWS.MM.SMS.OriginationNumber";

/// Error codes by which SNS says it took nothing, for now.
const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "KMSThrottling",
];

/// Error codes by which SNS refuses this message for good: the number or
/// the text is not valid to publish to or with.
const FINAL_CODES: &[&str] = &["InvalidParameter", "InvalidParameterValue", "ValidationError", "ValidationException"];

/// The SDK's retries for `Publish`: only a throttling answer is retried.
#[derive(Debug)]
struct PublishRetries;

impl ClassifyRetry for PublishRetries {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        let Some(Err(error)) = ctx.output_or_error() else {
            return RetryAction::NoActionIndicated;
        };
        let code = error.as_operation_error().and_then(|e| e.downcast_ref::<PublishError>()).and_then(|e| e.code());
        if code.is_some_and(|c| THROTTLING_CODES.contains(&c)) {
            RetryAction::throttling_error()
        } else {
            RetryAction::RetryForbidden
        }
    }

    fn name(&self) -> &'static str {
        "Publish is retried only when SNS throttled it"
    }
}

pub struct SnsGateway {
    client: Client,
    /// Opt-out verdicts by destination, until they expire.
    opt_outs: TtlMap<String, bool>,
    opt_out_ttl_secs: i64,
    clock: SharedClock,
}

/// At most this many verdicts are kept, the least recently used going first.
const MAX_VERDICTS: usize = 10_000;

impl SnsGateway {
    pub fn new(aws: &aws_config::SdkConfig, clock: SharedClock) -> Self {
        SnsGateway { client: Client::new(aws), opt_outs: TtlMap::new(MAX_VERDICTS), opt_out_ttl_secs: 0, clock }
    }

    /// Keeps each destination's opt-out verdict this long (`OPT_OUT_CACHE_SECONDS`):
    /// `CheckIfPhoneNumberIsOptedOut` has a low account-wide rate; asked once
    /// per destination and instance in that time, it no longer caps sending.
    /// A destination that opts out meanwhile is still sent to by an instance
    /// that asked before: SNS then drops the SMS and its delivery receipt
    /// says so (the message ends `failed`).
    pub fn with_opt_out_cache(mut self, ttl_secs: i64) -> Self {
        self.opt_out_ttl_secs = ttl_secs;
        self
    }

    fn verdict(&self, to: &E164) -> Option<bool> {
        self.opt_outs.get(to.as_str(), self.clock.now())
    }

    fn remember(&self, to: &E164, opted_out: bool) {
        if self.opt_out_ttl_secs > 0 {
            self.opt_outs.insert(to.as_str().to_owned(), opted_out, self.clock.now() + self.opt_out_ttl_secs);
        }
    }
}

fn string_attribute(value: &str) -> Result<MessageAttributeValue, GatewayError> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .map_err(|e| GatewayError::Rejected(format!("SNS request: {e}")))
}

/// Maps an SDK failure onto what the service can act on. Only SNS's refusal
/// of the message itself is final; anything that may pass on a retry (no
/// answer, throttling, a 5xx, a permission an operator has yet to grant) is
/// `Unavailable`. None of them is ever a success.
fn classify<E>(op: &str, e: &SdkError<E, HttpResponse>) -> GatewayError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let detail = format!("SNS {op}: {}", DisplayErrorContext(e));
    match e {
        // The request could not even be built: it will not build next time either.
        SdkError::ConstructionFailure(_) => GatewayError::Rejected(detail),
        SdkError::ServiceError(service) => {
            let err = service.err();
            let status = service.raw().status().as_u16();
            let code = err.code().unwrap_or_default();
            // SNS accepts a publish to an opted-out number today and drops it
            // later; should it refuse one instead, that refusal is final.
            if code == "OptedOut" || err.message().is_some_and(|m| m.to_ascii_lowercase().contains("opted out")) {
                GatewayError::OptedOut(detail)
            } else if FINAL_CODES.contains(&code) && status < 500 {
                GatewayError::Rejected(detail)
            } else {
                GatewayError::Unavailable(detail)
            }
        }
        // Timeouts, an unreachable endpoint, an unreadable answer.
        _ => GatewayError::Unavailable(detail),
    }
}

#[async_trait]
impl SmsGateway for SnsGateway {
    fn provider(&self) -> &'static str {
        "Amazon SNS"
    }

    /// A cheap read SNS answers, which opens the connection. A failure is
    /// logged: the first request then connects.
    async fn prewarm(&self) {
        if let Err(e) = self.client.get_sms_attributes().attributes("DefaultSMSType").send().await {
            tracing::warn!(error = %DisplayErrorContext(&e), "SNS pre-warm failed; the first request connects");
        }
    }

    async fn send(&self, sms: OutgoingSms<'_>) -> Result<String, GatewayError> {
        let out = self
            .client
            .publish()
            .phone_number(sms.to.as_str())
            .message(sms.text.as_str())
            .message_attributes(SMS_TYPE, string_attribute("Transactional")?)
            .message_attributes(ORIGINATION_NUMBER, string_attribute(sms.from.as_str())?)
            .customize()
            .config_override(aws_sdk_sns::config::Config::builder().retry_classifier(PublishRetries))
            .send()
            .await
            .map_err(|e| classify("Publish", &e))?;
        // SNS took it: an error now would make the caller send it again.
        Ok(out.message_id.unwrap_or_else(|| {
            tracing::warn!(tenant = %sms.tenant, "SNS Publish answered without a message id");
            String::new()
        }))
    }

    async fn opted_out(&self, to: &E164) -> Result<bool, GatewayError> {
        if let Some(v) = self.verdict(to) {
            return Ok(v);
        }
        let out = self
            .client
            .check_if_phone_number_is_opted_out()
            .phone_number(to.as_str())
            .send()
            .await
            .map_err(|e| classify("CheckIfPhoneNumberIsOptedOut", &e))?;
        self.remember(to, out.is_opted_out());
        Ok(out.is_opted_out())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sns::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_sns::operation::publish::PublishError;
    use aws_sdk_sns::types::error::{InternalErrorException, InvalidParameterException};

    fn service(err: PublishError, status: u16) -> SdkError<PublishError, HttpResponse> {
        let status = status.try_into().expect("a valid status");
        SdkError::service_error(err, HttpResponse::new(status, "".into()))
    }

    fn generic(code: &str, message: &str) -> PublishError {
        PublishError::generic(ErrorMetadata::builder().code(code).message(message).build())
    }

    fn kind(e: GatewayError) -> &'static str {
        match e {
            GatewayError::OptedOut(_) => "opted out",
            GatewayError::Rejected(_) => "rejected",
            GatewayError::Unavailable(_) => "unavailable",
        }
    }

    #[test]
    fn what_may_pass_later_is_unavailable() {
        let cases: Vec<SdkError<PublishError, HttpResponse>> = vec![
            SdkError::timeout_error("operation timed out"),
            SdkError::dispatch_failure(ConnectorError::io("connection refused".into())),
            SdkError::dispatch_failure(ConnectorError::timeout("connect timeout".into())),
            SdkError::response_error("truncated body", HttpResponse::new(200.try_into().expect("status"), "".into())),
            service(generic("Throttling", "Rate exceeded"), 400),
            service(generic("ThrottlingException", "Rate exceeded"), 400),
            service(generic("SomethingNew", "Slow down"), 429),
            service(generic("ServiceUnavailable", "try later"), 503),
            service(generic("Unknown", "gateway timeout"), 504),
            service(
                PublishError::InternalErrorException(InternalErrorException::builder().message("internal").build()),
                500,
            ),
        ];
        for e in cases {
            let debug = format!("{e:?}");
            assert_eq!(kind(classify("Publish", &e)), "unavailable", "{debug}");
        }
    }

    #[test]
    fn refusals_are_rejected_and_opt_outs_are_named() {
        let invalid = PublishError::InvalidParameterException(
            InvalidParameterException::builder()
                .message("Invalid parameter: PhoneNumber Reason: +1555 is not valid to publish to")
                .meta(ErrorMetadata::builder().code("InvalidParameter").build())
                .build(),
        );
        assert_eq!(kind(classify("Publish", &service(invalid, 400))), "rejected");
        // Not allowed yet: an operator's fix and a retry cure it.
        assert_eq!(
            kind(classify("Publish", &service(generic("AuthorizationError", "not allowed"), 403))),
            "unavailable"
        );
        assert_eq!(kind(classify("Publish", &service(generic("InvalidParameterValue", "bad"), 400))), "rejected");
        assert_eq!(
            kind(classify("Publish", &service(generic("InvalidParameter", "Phone number is opted out"), 400))),
            "opted out"
        );
        assert_eq!(kind(classify("Publish", &service(generic("OptedOut", "stop"), 400))), "opted out");
    }

    #[tokio::test]
    async fn an_unreachable_endpoint_is_unavailable_not_sent() {
        use aws_sdk_sns::config::{Credentials, Region};
        // A loopback port that was free a moment ago: nothing listens there.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port");
        let aws = aws_config::SdkConfig::builder()
            .behavior_version(aws_config::BehaviorVersion::latest())
            .http_client(crate::adapters::aws::http_client(&crate::adapters::aws::TrustRoots::amazon()))
            .region(Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sns::config::SharedCredentialsProvider::new(Credentials::new(
                "test", "test", None, None, "test",
            )))
            .endpoint_url(format!("http://{closed}"))
            .retry_config(aws_sdk_sns::config::retry::RetryConfig::disabled())
            .build();
        let gateway = SnsGateway::new(&aws, crate::adapters::clock::system());
        let from = E164::parse("+14165550000").expect("valid");
        let to = E164::parse("+14165551234").expect("valid");
        let text = crate::domain::MessageText::new("hello").expect("valid");
        let tenant = crate::domain::TenantId::parse("59").expect("valid");
        let sent = gateway
            .send(OutgoingSms {
                tenant: &tenant,
                kind: crate::domain::MessageKind::Api,
                from: &from,
                to: &to,
                text: &text,
            })
            .await;
        assert!(matches!(sent, Err(GatewayError::Unavailable(_))), "{sent:?}");
        assert!(matches!(gateway.opted_out(&to).await, Err(GatewayError::Unavailable(_))));
    }
}
