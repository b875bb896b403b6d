//! A delivery receipt: what the carrier did with an SMS the provider took.
//! SNS writes one per SMS to CloudWatch Logs (its SMS delivery status
//! logs); the outbox writes the same lines locally.

use serde::Deserialize;
use time::PrimitiveDateTime;
use time::macros::format_description;

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
            return Err(format!("messageId {:?} is not 1 to {MAX_ID} visible ASCII characters", super::text::escape(&id)));
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

/// `2016-06-28 00:40:34.558`, UTC; the fraction has any number of digits
/// (or none).
fn parse_timestamp(raw: &str) -> Result<i64, String> {
    let whole = raw.split('.').next().unwrap_or_default();
    let fraction_ok = raw[whole.len()..].strip_prefix('.').is_none_or(|f| !f.is_empty() && f.len() <= 9 && f.bytes().all(|b| b.is_ascii_digit()));
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    match PrimitiveDateTime::parse(whole, format) {
        Ok(t) if fraction_ok => Ok(t.assume_utc().unix_timestamp()),
        _ => Err(format!("timestamp {:?} is not YYYY-MM-DD HH:MM:SS[.fff]", super::text::escape(raw))),
    }
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
    fn malformed_records_say_why() {
        for (line, why) in [
            ("{", "not an SMS delivery status record"),
            (r#"{"notification":{"messageId":"x","timestamp":"2016-06-28 00:40:34"},"status":"MAYBE"}"#, "unknown delivery status"),
            (r#"{"notification":{"messageId":"a b","timestamp":"2016-06-28 00:40:34"},"status":"SUCCESS"}"#, "messageId"),
            (r#"{"notification":{"messageId":"x","timestamp":"yesterday"},"status":"SUCCESS"}"#, "timestamp"),
            (r#"{"notification":{"messageId":"x","timestamp":"2016-06-28 00:40:34."},"status":"SUCCESS"}"#, "timestamp"),
        ] {
            let e = Receipt::parse(line).unwrap_err();
            assert!(e.contains(why), "{line}: {e}");
        }
    }
}
