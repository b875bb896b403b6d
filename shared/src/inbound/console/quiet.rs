//! Quiet hours on a form: the fields (a time zone, a window, its days) for
//! a tenant (on or off) and an extension (the tenant's, none, or its own),
//! and their reading through `QuietHours`' own `Deserialize`, so that a
//! bad zone or time is refused in `apply`'s words.

use maud::{Markup, html};
use serde::Serialize;

use super::forms::Form;
use crate::domain::{QuietHours, QuietSetting};
use crate::service::Error;

/// The fields as the configuration file names them.
#[derive(Serialize)]
struct Fields<'a> {
    time_zone: &'a str,
    from: &'a str,
    to: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    days: Option<Vec<&'a str>>,
}

/// What the choice field says.
const OWN: &str = "own";
const OFF: &str = "off";

/// The quiet hours of the fields named with `prefix`, when the choice asks
/// for them; days all ticked are every day (the file then names none).
fn hours(f: &Form, prefix: &str) -> Result<QuietHours, Error> {
    let field = |name: &str| f.get(&format!("{prefix}{name}")).unwrap_or("");
    let days: Vec<&str> = f.all(&format!("{prefix}days")).collect();
    let every = days.len() == QuietHours::DAY_NAMES.len();
    let fields =
        Fields { time_zone: field("zone"), from: field("from"), to: field("to"), days: (!every).then_some(days) };
    let value = serde_json::to_value(&fields).map_err(|e| Error::Internal(e.to_string()))?;
    serde_path_to_error::deserialize(value).map_err(|e| {
        let label = match e.path().iter().next().map(ToString::to_string).as_deref() {
            Some("time_zone") => "Quiet hours time zone",
            Some("from") => "Quiet hours from",
            Some("to") => "Quiet hours to",
            Some("days") => "Quiet hours days",
            _ => "Quiet hours",
        };
        Error::InvalidSetting(format!("{label}: {}", e.inner()))
    })
}

/// A tenant's: off, or the window the fields give.
pub fn tenant(f: &Form) -> Result<Option<QuietHours>, Error> {
    match f.get("quiet") {
        Some(OWN) => hours(f, "quiet_").map(Some),
        _ => Ok(None),
    }
}

/// An extension's: the tenant's (none of its own), none, or its own.
pub fn extension(f: &Form) -> Result<Option<QuietSetting>, Error> {
    match f.get("quiet") {
        Some(OWN) => hours(f, "quiet_").map(|h| Some(QuietSetting::Hours(h))),
        Some(OFF) => Ok(Some(QuietSetting::Off)),
        _ => Ok(None),
    }
}

/// The choice and the window's fields, ids made unique by `id` (a page may
/// hold several); `choices` are the choice's values and labels, `chosen`
/// the one set; `shown` the window the fields start with.
pub fn fields(id: &str, choices: &[(&str, &str)], chosen: &str, shown: Option<&QuietHours>) -> Markup {
    let (from, to) = shown.map_or_else(|| ("22:00".to_owned(), "07:00".to_owned()), QuietHours::bounds);
    let days = shown.and_then(QuietHours::days);
    let ticked = |d: &str| days.as_ref().is_none_or(|days| days.contains(&d));
    let note = format!("{id}quiet_note");
    html! {
        fieldset.quiet {
            legend { "Quiet hours" }
            label for={ (id) "quiet" } { "Voicemail SMS in quiet hours" }
            select id={ (id) "quiet" } name="quiet" aria-describedby=(note) {
                @for (value, label) in choices { option value=(value) selected[*value == chosen] { (label) } }
            }
            p.note id=(note) {
                "A voicemail SMS due inside the window is held and sent when it ends; several held for one "
                "extension go as one SMS listing each voicemail's time and caller. API sends are never held."
            }
            label for={ (id) "quiet_zone" } { "Time zone" }
            input id={ (id) "quiet_zone" } name="quiet_zone" value=[shown.map(QuietHours::time_zone)] placeholder="America/Toronto";
            label for={ (id) "quiet_from" } { "From" }
            input id={ (id) "quiet_from" } name="quiet_from" type="time" value=(from);
            label for={ (id) "quiet_to" } { "To" }
            input id={ (id) "quiet_to" } name="quiet_to" type="time" value=(to);
            fieldset.days {
                legend { "Starting on" }
                @for day in QuietHours::DAY_NAMES {
                    label { input type="checkbox" name="quiet_days" value=(day) checked[ticked(day)]; " " (day) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_as_the_file_reads_them() {
        let form = Form::parse(
            b"quiet=own&quiet_zone=Europe%2FLondon&quiet_from=22%3A00&quiet_to=07%3A00&quiet_days=sat&quiet_days=sun",
        );
        let q = tenant(&form).unwrap().unwrap();
        assert_eq!(
            (q.time_zone(), q.bounds(), q.days()),
            ("Europe/London", ("22:00".into(), "07:00".into()), Some(vec!["sat", "sun"]))
        );
        let all = QuietHours::DAY_NAMES.map(|d| format!("&quiet_days={d}")).concat();
        let every = Form::parse(format!("quiet=own&quiet_zone=UTC&quiet_from=01:00&quiet_to=02:00{all}").as_bytes());
        assert_eq!(tenant(&every).unwrap().unwrap().days(), None, "all seven ticked: every day");
        let bad = Form::parse(b"quiet=own&quiet_zone=Mars%2FBase&quiet_from=22:00&quiet_to=07:00&quiet_days=mon");
        assert_eq!(
            tenant(&bad).unwrap_err().to_string(),
            "Quiet hours time zone: expected an IANA time zone such as \"America/Toronto\""
        );
        let none = Form::parse(b"quiet=own&quiet_zone=UTC&quiet_from=22:00&quiet_to=07:00");
        assert!(tenant(&none).unwrap_err().to_string().starts_with("Quiet hours days: "), "no day ticked");
        assert_eq!(extension(&Form::parse(b"quiet=off")).unwrap(), Some(QuietSetting::Off));
        assert_eq!(extension(&Form::parse(b"quiet=")).unwrap(), None);
        assert_eq!(tenant(&Form::parse(b"quiet=&quiet_zone=Mars")).unwrap(), None, "off: the fields are not read");
    }
}
