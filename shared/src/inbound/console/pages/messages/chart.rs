//! The 30-day chart as SVG, drawn on the server: a group of four bars per
//! day (sent, delivered, failed, refused), each with its own tooltip
//! (`<title>`), and the same figures as a table for screen readers.

use maud::{Markup, html};

use crate::domain::times::day;
use crate::service::operators::DayCount;

const WIDTH: u32 = 720;
const HEIGHT: u32 = 160;
const SERIES: [(&str, &str); 4] =
    [("sent", "sent"), ("delivered", "delivered"), ("failed", "failed"), ("refused", "refused")];

fn values(d: &DayCount) -> [u32; 4] {
    [d.sent, d.delivered, d.failed, d.refused]
}

pub fn svg(days: &[DayCount]) -> Markup {
    let max = days.iter().flat_map(values).max().unwrap_or(0).max(1);
    let slot = WIDTH / u32::try_from(days.len().max(1)).unwrap_or(1);
    let bar = (slot.saturating_sub(2) / 4).max(1);
    html! {
        figure.chart {
            figcaption { "The last 30 days: sent, delivered, failed and refused per day (UTC)" }
            svg viewBox={ "0 0 " (WIDTH) " " (HEIGHT + 20) } role="img" aria-labelledby="chart-title" {
                title #chart-title { "Messages per day, last 30 days" }
                @for (i, d) in days.iter().enumerate() {
                    @let x0 = u32::try_from(i).unwrap_or(0) * slot;
                    @for (j, ((class, name), v)) in SERIES.iter().zip(values(d)).enumerate() {
                        @let h = v * HEIGHT / max;
                        rect class={ "bar " (class) } x=(x0 + u32::try_from(j).unwrap_or(0) * bar) y=(HEIGHT - h) width=(bar) height=(h.max(1)) {
                            title { (day(d.day)) ": " (v) " " (name) }
                        }
                    }
                }
                @if let (Some(first), Some(last)) = (days.first(), days.last()) {
                    text x="0" y=(HEIGHT + 16) { (day(first.day)) }
                    text x=(WIDTH) y=(HEIGHT + 16) text-anchor="end" { (day(last.day)) }
                }
            }
            ul.legend { @for (class, name) in SERIES { li { span class={ "swatch " (class) } {} (name) } } }
            details { summary { "The figures" }
                table { thead { tr { th scope="col" { "Day" } @for (_, name) in SERIES { th scope="col" { (name) } } } }
                    tbody { @for d in days { tr { th scope="row" { (day(d.day)) } @for v in values(d) { td { (v) } } } } } }
            }
        }
    }
}
