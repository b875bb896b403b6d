//! What the service counts, and CloudWatch's Embedded Metric Format (EMF)
//! to count it with: one JSON line on standard output per event, which
//! CloudWatch Logs turns into metrics. No phone number, no key, no text is
//! ever part of a metric: events carry kinds, reasons and tenant ids.
//!
//! Hand-written (a few lines of JSON): the maintained crate for EMF,
//! `metrics_cloudwatch_embedded`, installs a global recorder and wraps each
//! invocation to flush it, which the functions do not need for a handful of
//! counters, and every bootstrap would carry its dependencies.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

use crate::Error;
use crate::domain::{MessageKind, TenantId};

/// Metrics go to this CloudWatch namespace.
pub const NAMESPACE: &str = "SmsNotifications";

/// One thing that happened to a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event<'a> {
    /// The provider took it, after this long (ms).
    Sent { kind: MessageKind, tenant: &'a TenantId, latency_ms: u64 },
    /// The provider's attempt failed; retried when it was a voicemail.
    Failed { kind: MessageKind, reason: &'static str },
    /// Refused for good: a country, an opt-out, the provider's refusal.
    Refused { kind: MessageKind, reason: &'static str },
    /// A budget's window was full.
    RateLimited { kind: MessageKind, window: &'static str },
    /// A voicemail that does not qualify.
    Skipped { reason: &'static str },
    /// Another delivery (or an Idempotency-Key's replay) had done it.
    Duplicate { kind: MessageKind },
    /// The carrier delivered it, or did not (the provider's receipt).
    Receipt { tenant: &'a TenantId, delivered: bool },
}

/// A short, bounded name for why something did not go out: a dimension.
pub fn reason(e: &Error) -> &'static str {
    match e {
        Error::OptedOut => "opted_out",
        Error::CountryNotAllowed { .. } => "country_not_allowed",
        Error::ProviderRejected(_) => "provider_refused",
        Error::ProviderUnavailable(_) => "provider_unavailable",
        Error::RateLimited { .. } => "rate_limited",
        Error::UnknownTenant(_) => "unknown_tenant",
        Error::TenantInactive => "tenant_inactive",
        Error::InvalidSender => "invalid_sender",
        Error::VoicemailDisabled => "voicemail_disabled",
        Error::UnknownExtension(_) => "unknown_extension",
        Error::ExtensionDisabled => "extension_disabled",
        Error::NoDestination => "no_destination",
        Error::Storage(_) | Error::Internal(_) => "internal",
        _ => "other",
    }
}

/// Where events go.
pub trait Metrics: Send + Sync {
    fn record(&self, event: &Event<'_>);
}

/// Counts nothing: the local server and tools.
pub struct NoMetrics;

impl Metrics for NoMetrics {
    fn record(&self, _: &Event<'_>) {}
}

/// EMF lines on standard output (Lambda sends them to CloudWatch Logs).
pub struct Emf {
    function: String,
}

/// An event's metrics with their values, its dimension sets and its unit.
type Layout<'a> = (Vec<(&'a str, Value)>, Vec<Vec<&'a str>>, &'a str);

impl Emf {
    pub fn new(function: &str) -> Emf {
        Emf { function: function.to_owned() }
    }

    /// The EMF line of an event at this time (epoch ms).
    pub fn line(&self, event: &Event<'_>, timestamp_ms: u128) -> String {
        let mut root = Map::new();
        root.insert("Function".into(), json!(self.function));
        // The tenant is a dimension only where that stays bounded (a few
        // metrics per tenant); reasons and windows are short enumerations.
        let (metrics, mut sets, unit): Layout<'_> = match event {
            Event::Sent { kind, tenant, latency_ms } => {
                root.insert("Kind".into(), json!(kind.as_str()));
                root.insert("Tenant".into(), json!(tenant.as_str()));
                root.insert("ProviderLatency".into(), json!(latency_ms));
                (vec![("Sent", json!(1))], vec![vec!["Kind"], vec!["Kind", "Tenant"]], "Count")
            }
            Event::Failed { kind, reason } | Event::Refused { kind, reason } => {
                root.insert("Kind".into(), json!(kind.as_str()));
                root.insert("Reason".into(), json!(reason));
                let name = if matches!(event, Event::Failed { .. }) { "Failed" } else { "Refused" };
                (vec![(name, json!(1))], vec![vec!["Kind"], vec!["Kind", "Reason"]], "Count")
            }
            Event::RateLimited { kind, window } => {
                root.insert("Kind".into(), json!(kind.as_str()));
                root.insert("Window".into(), json!(window));
                (vec![("RateLimited", json!(1))], vec![vec!["Kind"], vec!["Kind", "Window"]], "Count")
            }
            Event::Skipped { reason } => {
                root.insert("Reason".into(), json!(reason));
                (vec![("Skipped", json!(1))], vec![vec!["Reason"]], "Count")
            }
            Event::Duplicate { kind } => {
                root.insert("Kind".into(), json!(kind.as_str()));
                (vec![("Duplicates", json!(1))], vec![vec!["Kind"]], "Count")
            }
            Event::Receipt { tenant, delivered } => {
                root.insert("Tenant".into(), json!(tenant.as_str()));
                let name = if *delivered { "Delivered" } else { "DeliveryFailed" };
                (vec![(name, json!(1))], vec![vec!["Tenant"]], "Count")
            }
        };
        // Also without any dimension (the alarms' account-wide view) and by
        // function alone.
        for set in &mut sets {
            set.insert(0, "Function");
        }
        sets.splice(0..0, [Vec::new(), vec!["Function"]]);
        let mut definitions: Vec<Value> = metrics.iter().map(|(name, _)| json!({ "Name": name, "Unit": unit })).collect();
        if matches!(event, Event::Sent { .. }) {
            definitions.push(json!({ "Name": "ProviderLatency", "Unit": "Milliseconds" }));
        }
        for (name, value) in metrics {
            root.insert(name.into(), value);
        }
        root.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{ "Namespace": NAMESPACE, "Dimensions": sets, "Metrics": definitions }],
            }),
        );
        Value::Object(root).to_string()
    }
}

impl Metrics for Emf {
    fn record(&self, event: &Event<'_>) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        // A closed stdout must not fail (or panic) a send.
        let _ = writeln!(std::io::stdout().lock(), "{}", self.line(event, now));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sent_sms_is_an_emf_line_with_bounded_dimensions() {
        let tenant = TenantId::parse("59").unwrap();
        let line = Emf::new("send-sms").line(&Event::Sent { kind: MessageKind::Api, tenant: &tenant, latency_ms: 42 }, 1_795_000_000_000);
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(
            v,
            json!({
                "_aws": {"Timestamp": 1_795_000_000_000_u64, "CloudWatchMetrics": [{
                    "Namespace": "SmsNotifications",
                    "Dimensions": [[], ["Function"], ["Function", "Kind"], ["Function", "Kind", "Tenant"]],
                    "Metrics": [{"Name": "Sent", "Unit": "Count"}, {"Name": "ProviderLatency", "Unit": "Milliseconds"}]}]},
                "Function": "send-sms", "Kind": "api", "Tenant": "59", "Sent": 1, "ProviderLatency": 42
            })
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn every_dimension_and_metric_is_a_root_member() {
        let tenant = TenantId::parse("59").unwrap();
        let emf = Emf::new("f");
        for event in [
            Event::Failed { kind: MessageKind::Voicemail, reason: "provider_unavailable" },
            Event::Refused { kind: MessageKind::Api, reason: "opted_out" },
            Event::RateLimited { kind: MessageKind::Api, window: "minute" },
            Event::Skipped { reason: "unknown_extension" },
            Event::Duplicate { kind: MessageKind::Voicemail },
            Event::Receipt { tenant: &tenant, delivered: false },
        ] {
            let v: Value = serde_json::from_str(&emf.line(&event, 1)).unwrap();
            let directive = &v["_aws"]["CloudWatchMetrics"][0];
            for set in directive["Dimensions"].as_array().unwrap() {
                for d in set.as_array().unwrap() {
                    assert!(v[d.as_str().unwrap()].is_string(), "{event:?}: {d}");
                }
            }
            for m in directive["Metrics"].as_array().unwrap() {
                assert!(v[m["Name"].as_str().unwrap()].is_number(), "{event:?}: {m}");
            }
        }
    }
}
