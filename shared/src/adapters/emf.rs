//! Metrics as CloudWatch's Embedded Metric Format (EMF): one JSON line on
//! standard output per event, which CloudWatch Logs turns into metrics.
//!
//! Hand-written (a few lines of JSON): the maintained crate for EMF,
//! `metrics_cloudwatch_embedded`, installs a global recorder and wraps each
//! invocation to flush it, which the functions do not need for a handful of
//! counters, and every bootstrap would carry its dependencies.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;

use crate::ports::{Event, Metrics, SharedClock};

/// Metrics go to this CloudWatch namespace.
pub const NAMESPACE: &str = "SmsNotifications";

/// EMF lines on standard output (Lambda sends them to CloudWatch Logs).
pub struct Emf {
    function: String,
    clock: SharedClock,
}

/// One line: the directive, and the dimensions' and metrics' values.
#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "_aws")]
    aws: Directive,
    #[serde(flatten)]
    members: BTreeMap<&'a str, Member<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Directive {
    timestamp: i64,
    cloud_watch_metrics: [MetricSet; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MetricSet {
    namespace: &'static str,
    dimensions: Vec<Vec<&'static str>>,
    metrics: Vec<Definition>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Definition {
    name: &'static str,
    unit: &'static str,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Member<'a> {
    Dimension(&'a str),
    Value(u64),
}

/// What an event counts: its dimensions' values, the dimension sets (the
/// tenant only where that stays bounded, a few metrics per tenant), its
/// metric (counted once) and, for a sent SMS, the provider's latency.
struct Layout<'a> {
    dimensions: Vec<(&'static str, &'a str)>,
    sets: Vec<Vec<&'static str>>,
    metric: &'static str,
    latency_ms: Option<u64>,
}

fn layout<'a>(event: &'a Event<'_>) -> Layout<'a> {
    let counted = |dimensions, sets, metric| Layout { dimensions, sets, metric, latency_ms: None };
    match event {
        Event::Sent { kind, tenant, latency_ms } => Layout {
            latency_ms: Some(*latency_ms),
            ..counted(
                vec![("Kind", kind.as_str()), ("Tenant", tenant.as_str())],
                vec![vec!["Kind"], vec!["Kind", "Tenant"]],
                "Sent",
            )
        },
        Event::Failed { kind, reason } | Event::Refused { kind, reason } => {
            let metric = if matches!(event, Event::Failed { .. }) { "Failed" } else { "Refused" };
            counted(
                vec![("Kind", kind.as_str()), ("Reason", reason)],
                vec![vec!["Kind"], vec!["Kind", "Reason"]],
                metric,
            )
        }
        Event::RateLimited { kind, window } => counted(
            vec![("Kind", kind.as_str()), ("Window", window.as_str())],
            vec![vec!["Kind"], vec!["Kind", "Window"]],
            "RateLimited",
        ),
        Event::Skipped { reason } => counted(vec![("Reason", reason)], vec![vec!["Reason"]], "Skipped"),
        Event::Duplicate { kind } => counted(vec![("Kind", kind.as_str())], vec![vec!["Kind"]], "Duplicates"),
        Event::Held { tenant } | Event::Released { tenant } => {
            let metric = if matches!(event, Event::Held { .. }) { "Held" } else { "Released" };
            counted(vec![("Tenant", tenant.as_str())], vec![vec!["Tenant"]], metric)
        }
        Event::Receipt { tenant, delivered } => {
            let metric = if *delivered { "Delivered" } else { "DeliveryFailed" };
            counted(vec![("Tenant", tenant.as_str())], vec![vec!["Tenant"]], metric)
        }
    }
}

impl Emf {
    pub fn new(function: &str, clock: SharedClock) -> Emf {
        Emf { function: function.to_owned(), clock }
    }

    /// The EMF line of an event at this time (epoch ms).
    pub fn line(&self, event: &Event<'_>, timestamp_ms: i64) -> String {
        let layout = layout(event);
        // Also without any dimension (the alarms' account-wide view) and by
        // function alone.
        let mut dimensions = vec![Vec::new(), vec!["Function"]];
        dimensions.extend(layout.sets.into_iter().map(|set| [vec!["Function"], set].concat()));
        let mut metrics = vec![Definition { name: layout.metric, unit: "Count" }];
        let mut members =
            BTreeMap::from([("Function", Member::Dimension(&self.function)), (layout.metric, Member::Value(1))]);
        members.extend(layout.dimensions.into_iter().map(|(name, value)| (name, Member::Dimension(value))));
        if let Some(ms) = layout.latency_ms {
            metrics.push(Definition { name: "ProviderLatency", unit: "Milliseconds" });
            members.insert("ProviderLatency", Member::Value(ms));
        }
        let directive = MetricSet { namespace: NAMESPACE, dimensions, metrics };
        let line = Line { aws: Directive { timestamp: timestamp_ms, cloud_watch_metrics: [directive] }, members };
        // Strings and numbers only: this cannot fail.
        serde_json::to_string(&line).unwrap_or_default()
    }
}

impl Emf {
    /// The line of an event now, by the clock.
    fn stamped(&self, event: &Event<'_>) -> String {
        self.line(event, self.clock.now_ms())
    }
}

impl Metrics for Emf {
    fn record(&self, event: &Event<'_>) {
        let line = self.stamped(event);
        // A closed stdout must not fail (or panic) a send.
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicI64;

    use crate::domain::{MessageKind, TenantId, Window};

    fn emf() -> Emf {
        Emf::new("send-sms", Arc::new(AtomicI64::new(0)))
    }

    #[test]
    fn a_sent_sms_is_an_emf_line_with_bounded_dimensions() {
        let tenant = TenantId::parse("59").unwrap();
        let line =
            emf().line(&Event::Sent { kind: MessageKind::Api, tenant: &tenant, latency_ms: 42 }, 1_795_000_000_000);
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
        for event in [
            Event::Failed { kind: MessageKind::Voicemail, reason: "provider_unavailable" },
            Event::Refused { kind: MessageKind::Api, reason: "opted_out" },
            Event::RateLimited { kind: MessageKind::Api, window: Window::Minute },
            Event::Skipped { reason: "unknown_extension" },
            Event::Duplicate { kind: MessageKind::Voicemail },
            Event::Receipt { tenant: &tenant, delivered: false },
            Event::Held { tenant: &tenant },
            Event::Released { tenant: &tenant },
        ] {
            let v: Value = serde_json::from_str(&emf().line(&event, 1)).unwrap();
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
        for (event, name) in
            [(Event::Held { tenant: &tenant }, "Held"), (Event::Released { tenant: &tenant }, "Released")]
        {
            let v: Value = serde_json::from_str(&emf().line(&event, 1)).unwrap();
            assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], name);
            assert_eq!(
                (v[name].as_u64(), v["Tenant"].as_str()),
                (Some(1), Some("59")),
                "no number, no text: the tenant"
            );
        }
        assert_eq!(
            serde_json::from_str::<Value>(
                &emf().line(&Event::RateLimited { kind: MessageKind::Api, window: Window::Day }, 1)
            )
            .unwrap()["Window"],
            "day"
        );
    }

    #[test]
    fn a_recorded_line_is_stamped_by_the_clock() {
        let emf = Emf::new("f", Arc::new(AtomicI64::new(1_795_000_000)));
        let line = emf.stamped(&Event::Duplicate { kind: MessageKind::Api });
        assert!(line.contains(r#""Timestamp":1795000000000"#), "{line}");
    }
}
