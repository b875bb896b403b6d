//! A delivery receipt: what the carrier did with an SMS the provider took.
//! SNS writes one per SMS to CloudWatch Logs (its SMS delivery status
//! logs); the outbox writes the same lines locally.

use serde::{Deserialize, Serialize};

/// The longest provider message id accepted (SNS's are UUIDs).
const MAX_ID: usize = 100;
/// The longest provider response kept.
const MAX_RESPONSE: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The provider's message id (`notification.messageId`): the id `Publish`
    /// answered, which the message log keeps.
    pub provider_id: String,
    pub delivered: bool,
    /// `delivery.providerResponse`, cleaned: "Message has been accepted by
    /// phone carrier", "Phone number is opted out", ...
    pub response: String,
    /// `delivery.priceInUSD`, as written (a decimal).
    pub price_usd: Option<String>,
    /// `notification.timestamp`, epoch seconds.
    pub at: i64,
}

/// SNS's delivery status log record (docs/aws.md, "Delivery receipts").
#[derive(Deserialize)]
struct Record {
    notification: Notification,
    #[serde(default)]
    delivery: Delivery,
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    message_id: String,
    timestamp: String,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delivery {
    #[serde(default)]
    provider_response: Option<String>,
    #[serde(default, rename = "priceInUSD")]
    price_in_usd: Option<serde_json::Number>,
}

impl Receipt {
    /// One log line, as SNS writes it. `Err` says what is wrong with it.
    pub fn parse(line: &str) -> Result<Receipt, String> {
        let r: Record = serde_json::from_str(line).map_err(|e| format!("not an SMS delivery status record: {e}"))?;
        let delivered = match r.status.as_str() {
            "SUCCESS" => true,
            "FAILURE" => false,
            other => return Err(format!("unknown delivery status {:?}", super::text::escape(other))),
        };
        let id = r.notification.message_id;
        if id.is_empty() || id.len() > MAX_ID || !id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "messageId {:?} is not 1 to {MAX_ID} visible ASCII characters",
                super::text::escape(&id)
            ));
        }
        let at = parse_timestamp(&r.notification.timestamp)?;
        let response = r
            .delivery
            .provider_response
            .and_then(|p| super::text::clean_field(&p, MAX_RESPONSE))
            .unwrap_or_else(|| if delivered { "Delivered" } else { "Not delivered" }.to_owned());
        let price_usd = r.delivery.price_in_usd.map(|n| n.to_string()).filter(|p| p.len() <= 32);
        Ok(Receipt { provider_id: id, delivered, response, price_usd, at })
    }
}

/// A delivery status log record as SNS writes it: what the local outbox
/// writes for each SMS it takes.
#[derive(Serialize)]
struct Written<'a> {
    notification: WrittenNotification<'a>,
    delivery: WrittenDelivery<'a>,
    status: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WrittenNotification<'a> {
    message_id: &'a str,
    timestamp: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WrittenDelivery<'a> {
    number_of_message_parts: usize,
    destination: &'a str,
    sms_type: &'static str,
    provider_response: &'static str,
    dwell_time_ms: u64,
}

/// The log line of a transactional SMS's receipt: delivered, or refused as
/// opted out; stamped `at_ms` (epoch milliseconds).
pub fn status_log_line(message_id: &str, segments: usize, destination: &str, delivered: bool, at_ms: i64) -> String {
    let (status, provider_response) = match delivered {
        true => ("SUCCESS", "Message has been accepted by phone carrier"),
        false => ("FAILURE", "Phone number is opted out"),
    };
    let record = Written {
        notification: WrittenNotification { message_id, timestamp: super::times::sns_timestamp(at_ms) },
        delivery: WrittenDelivery {
            number_of_message_parts: segments,
            destination,
            sms_type: "Transactional",
            provider_response,
            dwell_time_ms: 0,
        },
        status,
    };
    // Strings and numbers only: this cannot fail.
    serde_json::to_string(&record).unwrap_or_default()
}

/// `2016-06-28 00:40:34.558`, UTC; the fraction has any number of digits
/// (or none).
fn parse_timestamp(raw: &str) -> Result<i64, String> {
    super::times::parse_sns_timestamp(raw)
        .ok_or_else(|| format!("timestamp {:?} is not YYYY-MM-DD HH:MM:SS[.fff]", super::text::escape(raw)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SNS's documented samples (AWS SNS developer guide), quote fixed.
    const SUCCESS: &str = r#"{"notification":{"messageId":"34d9b400-c6dd-5444-820d-fbeb0f1f54cf","timestamp":"2016-06-28 00:40:34.558"},
        "delivery":{"phoneCarrier":"My Phone Carrier","mnc":270,"destination":"+1XXX5550100","priceInUSD":0.00645,
        "smsType":"Transactional","mcc":310,"providerResponse":"Message has been accepted by phone carrier",
        "dwellTimeMs":599,"dwellTimeMsUntilDeviceAck":1344},"status":"SUCCESS"}"#;
    const FAILURE: &str = r#"{"notification":{"messageId":"1077257a-92f3-5ca3-bc97-6a915b310625","timestamp":"2016-06-28 00:40:34.559"},
        "delivery":{"mnc":0,"destination":"+1XXX5550100","priceInUSD":0.00645,"smsType":"Transactional","mcc":0,
        "providerResponse":"Unknown error attempting to reach phone","dwellTimeMs":1420,"dwellTimeMsUntilDeviceAck":1692},"status":"FAILURE"}"#;

    #[test]
    fn documented_records_parse() {
        let r = Receipt::parse(SUCCESS).unwrap();
        assert_eq!(
            r,
            Receipt {
                provider_id: "34d9b400-c6dd-5444-820d-fbeb0f1f54cf".into(),
                delivered: true,
                response: "Message has been accepted by phone carrier".into(),
                price_usd: Some("0.00645".into()),
                at: 1_467_074_434,
            }
        );
        let f = Receipt::parse(FAILURE).unwrap();
        assert!(!f.delivered);
        assert_eq!(f.response, "Unknown error attempting to reach phone");
        // Real records: a one-digit fraction, no carrier fields.
        let short = r#"{"notification":{"messageId":"0eb79b44","timestamp":"2022-03-08 19:09:37.3"},"delivery":{"numberOfMessageParts":1,"providerResponse":"Delivered"},"status":"SUCCESS"}"#;
        assert_eq!(Receipt::parse(short).unwrap().at, 1_646_766_577);
    }

    #[test]
    fn what_the_outbox_writes_reads_back() {
        let line = status_log_line("outbox-1", 2, "+14165551234", false, 1_467_074_434_558);
        let r = Receipt::parse(&line).unwrap();
        assert_eq!((r.provider_id.as_str(), r.delivered, r.at), ("outbox-1", false, 1_467_074_434));
        assert_eq!(r.response, "Phone number is opted out");
        assert!(line.contains(r#""timestamp":"2016-06-28 00:40:34.558""#), "{line}");
    }

    #[test]
    fn malformed_records_say_why() {
        for (line, why) in [
            ("{", "not an SMS delivery status record"),
            (
                r#"{"notification":{"messageId":"x","timestamp":"2016-06-28 00:40:34"},"status":"MAYBE"}"#,
                "unknown delivery status",
            ),
            (
                r#"{"notification":{"messageId":"a b","timestamp":"2016-06-28 00:40:34"},"status":"SUCCESS"}"#,
                "messageId",
            ),
            (r#"{"notification":{"messageId":"x","timestamp":"yesterday"},"status":"SUCCESS"}"#, "timestamp"),
            (
                r#"{"notification":{"messageId":"x","timestamp":"2016-06-28 00:40:34."},"status":"SUCCESS"}"#,
                "timestamp",
            ),
        ] {
            let e = Receipt::parse(line).unwrap_err();
            assert!(e.contains(why), "{line}: {e}");
        }
    }
}
