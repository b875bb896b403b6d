//! Quiet hours: when a voicemail SMS is held, to go when they end. A daily
//! window of local wall-clock time in an IANA zone, on chosen days.

use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

const ZONE: &str = "an IANA time zone such as \"America/Toronto\"";
const CLOCK: &str = "a time as HH:MM, such as \"22:00\"";
const DAY: &str = "days among \"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"";
const SETTING: &str = "false or quiet hours {\"time_zone\", \"from\", \"to\"}";
const TWICE: &str = "a day is named twice";
const NO_DAY: &str = "expected at least one day, or no \"days\" for every day";
const ALWAYS: &str = "quiet hours every hour of every day would never send an SMS";

/// How many windows one quiet period may chain (whole days on six days of
/// the week are six; a whole week is refused).
const MAX_CHAIN: usize = 8;

/// A daily window of quiet, e.g. `{"time_zone": "America/Toronto", "from":
/// "22:00", "to": "07:00", "days": ["mon", "tue", "wed", "thu", "fri"]}`.
///
/// A window starts at `from` on each of its `days` (every day when left
/// out) and ends at `to`: the next day when `to` is before `from`, and 24
/// wall-clock hours later when they are equal. Windows are half-open: quiet
/// from `from` included to `to` excluded.
///
/// Local times become instants by RFC 5545's "compatible" rule: a time in
/// the hour skipped when clocks spring forward is read as after the gap
/// (02:30 is 03:30 new time), and a time in the hour repeated when they
/// fall back is its first occurrence (summer time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Parts")]
pub struct QuietHours {
    time_zone: Zone,
    from: ClockTime,
    to: ClockTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    days: Option<Days>,
}

/// The configuration as written, checked as a whole into [`QuietHours`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "quiet hours {\"time_zone\", \"from\", \"to\"}")]
struct Parts {
    time_zone: Zone,
    from: ClockTime,
    to: ClockTime,
    #[serde(default)]
    days: Option<Days>,
}

impl TryFrom<Parts> for QuietHours {
    type Error = &'static str;

    fn try_from(p: Parts) -> Result<Self, Self::Error> {
        let every_day = p.days.as_ref().is_none_or(|d| d.0.len() == Day::ALL.len());
        if p.from == p.to && every_day {
            return Err(ALWAYS);
        }
        Ok(QuietHours { time_zone: p.time_zone, from: p.from, to: p.to, days: p.days })
    }
}

impl QuietHours {
    /// The quiet hours that apply to an extension: its own setting, else
    /// the tenant's; `Off` turns them off.
    pub fn effective<'a>(
        tenant: Option<&'a QuietHours>,
        extension: Option<&'a QuietSetting>,
    ) -> Option<&'a QuietHours> {
        match extension {
            Some(setting) => setting.hours(),
            None => tenant,
        }
    }

    /// The zone's name, as configured.
    pub fn time_zone(&self) -> &str {
        &self.time_zone.name
    }

    /// The window's start and end, as written (`22:00`, `07:00`).
    pub fn bounds(&self) -> (String, String) {
        (self.from.to_string(), self.to.to_string())
    }

    /// The days its windows start on, as written (`mon`…); `None`: every
    /// day.
    pub fn days(&self) -> Option<Vec<&'static str>> {
        self.days.as_ref().map(|d| d.0.iter().map(|d| d.as_str()).collect())
    }

    /// Every day's name, Monday first.
    pub const DAY_NAMES: [&'static str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

    /// When the quiet period holding `at` ends (epoch seconds), or `None`
    /// when `at` is outside every window. A window that ends as the next
    /// begins (whole days on consecutive days) is one period with it.
    pub fn until(&self, at: i64) -> Option<i64> {
        let mut end = self.holding(at)?;
        for _ in 0..MAX_CHAIN {
            match self.holding(end) {
                Some(next) => end = next,
                None => break,
            }
        }
        Some(end)
    }

    /// `Mon 22:41`: a time in the window's zone, as a digest SMS lists a
    /// voicemail; empty out of range.
    pub fn local(&self, at: i64) -> String {
        let Ok(ts) = Timestamp::from_second(at) else { return String::new() };
        let dt = self.time_zone.tz.to_datetime(ts);
        let day = Day::from(dt.weekday()).title();
        format!("{day} {:02}:{:02}", dt.hour(), dt.minute())
    }

    /// For the console: `22:00 to 07:00 (America/Toronto), mon tue wed`.
    pub fn describe(&self) -> String {
        let days = match &self.days {
            Some(days) => days.0.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(" "),
            None => "every day".to_owned(),
        };
        format!("{} to {} ({}), {days}", self.from, self.to, self.time_zone.name)
    }

    /// The end of a window holding `at`. A window lasts a day at most, so
    /// it started on `at`'s local date or the day before (and the day
    /// before that, for a zone whose clocks jump over midnight).
    fn holding(&self, at: i64) -> Option<i64> {
        let ts = Timestamp::from_second(at).ok()?;
        let today = self.time_zone.tz.to_datetime(ts).date();
        let yesterday = today.yesterday().ok();
        let before = yesterday.and_then(|d| d.yesterday().ok());
        [before, yesterday, Some(today)]
            .into_iter()
            .flatten()
            .filter_map(|date| self.window(date))
            .find(|&(start, end)| start <= at && at < end)
            .map(|(_, end)| end)
    }

    /// The window starting on `date`, if it is one of the days: [start, end).
    fn window(&self, date: Date) -> Option<(i64, i64)> {
        if !self.days.as_ref().is_none_or(|d| d.0.contains(&Day::from(date.weekday()))) {
            return None;
        }
        let start = self.instant(date, self.from)?;
        let end_date = if self.to > self.from { date } else { date.tomorrow().ok()? };
        Some((start, self.instant(end_date, self.to)?))
    }

    /// A wall-clock time on a date, by the "compatible" rule (see above).
    fn instant(&self, date: Date, time: ClockTime) -> Option<i64> {
        let zoned = self.time_zone.tz.to_ambiguous_zoned(date.to_datetime(time.0)).compatible().ok()?;
        Some(zoned.timestamp().as_second())
    }
}

/// An extension's own quiet hours: `false` for none (whatever the
/// tenant's), or its own window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuietSetting {
    Off,
    Hours(QuietHours),
}

impl QuietSetting {
    pub fn hours(&self) -> Option<&QuietHours> {
        match self {
            QuietSetting::Off => None,
            QuietSetting::Hours(h) => Some(h),
        }
    }
}

impl Serialize for QuietSetting {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            QuietSetting::Off => s.serialize_bool(false),
            QuietSetting::Hours(h) => h.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for QuietSetting {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SettingVisitor)
    }
}

/// `false`, or an object read as [`QuietHours`]; `true` is refused.
struct SettingVisitor;

impl<'de> Visitor<'de> for SettingVisitor {
    type Value = QuietSetting;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SETTING)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<QuietSetting, E> {
        if v { Err(E::custom(format_args!("expected {SETTING}"))) } else { Ok(QuietSetting::Off) }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<QuietSetting, A::Error> {
        QuietHours::deserialize(de::value::MapAccessDeserializer::new(map)).map(QuietSetting::Hours)
    }
}

/// An IANA zone, found in the bundled database; its name kept as given.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Zone {
    name: String,
    tz: TimeZone,
}

impl Serialize for Zone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.name)
    }
}

impl<'de> Deserialize<'de> for Zone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let parse = |s: &str| TimeZone::get(s).ok().map(|tz| Zone { name: s.to_owned(), tz });
        d.deserialize_str(StrVisitor { expecting: ZONE, parse })
    }
}

/// A local wall-clock time to the minute, `HH:MM` (24-hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct ClockTime(Time);

impl ClockTime {
    /// Exactly two digits, a colon, two digits: `7:00` and `22:00:00` are
    /// refused.
    fn parse(s: &str) -> Option<Self> {
        let &[h1, h2, b':', m1, m2] = s.as_bytes() else { return None };
        let two = |a: u8, b: u8| -> Option<i8> {
            let digits = a.is_ascii_digit() && b.is_ascii_digit();
            digits.then(|| i8::try_from((a - b'0') * 10 + (b - b'0')).ok()).flatten()
        };
        Time::new(two(h1, h2)?, two(m1, m2)?, 0, 0).ok().map(ClockTime)
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0.hour(), self.0.minute())
    }
}

impl Serialize for ClockTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor { expecting: CLOCK, parse: ClockTime::parse })
    }
}

/// A day of the week, as the configuration names it (`mon`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Day {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Day {
    const ALL: [Day; 7] = [Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri, Day::Sat, Day::Sun];

    fn as_str(self) -> &'static str {
        QuietHours::DAY_NAMES[self as usize]
    }

    /// As a digest SMS writes it: `Mon`.
    fn title(self) -> &'static str {
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][self as usize]
    }

    fn parse(s: &str) -> Option<Self> {
        Day::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

impl From<Weekday> for Day {
    fn from(w: Weekday) -> Self {
        match w {
            Weekday::Monday => Day::Mon,
            Weekday::Tuesday => Day::Tue,
            Weekday::Wednesday => Day::Wed,
            Weekday::Thursday => Day::Thu,
            Weekday::Friday => Day::Fri,
            Weekday::Saturday => Day::Sat,
            Weekday::Sunday => Day::Sun,
        }
    }
}

impl Serialize for Day {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Day {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(StrVisitor { expecting: DAY, parse: Day::parse })
    }
}

/// The days windows start on: at least one, none twice, in the given order
/// (so that an export gives back what was applied).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
struct Days(Vec<Day>);

impl<'de> Deserialize<'de> for Days {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let days = Vec::<Day>::deserialize(d)?;
        if days.is_empty() {
            return Err(de::Error::custom(NO_DAY));
        }
        if days.iter().enumerate().any(|(i, day)| days[..i].contains(day)) {
            return Err(de::Error::custom(TWICE));
        }
        Ok(Days(days))
    }
}

/// A string read by `parse`, refused as "expected {expecting}".
struct StrVisitor<F> {
    expecting: &'static str,
    parse: F,
}

impl<T, F: FnOnce(&str) -> Option<T>> Visitor<'_> for StrVisitor<F> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        let expecting = self.expecting;
        (self.parse)(v).ok_or_else(|| E::custom(format_args!("expected {expecting}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An instant written in UTC (RFC 3339), as epoch seconds.
    fn utc(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_second()
    }

    fn hours(json: &str) -> QuietHours {
        serde_json::from_str(json).unwrap()
    }

    fn window(zone: &str, from: &str, to: &str) -> QuietHours {
        hours(&format!(r#"{{"time_zone": "{zone}", "from": "{from}", "to": "{to}"}}"#))
    }

    fn refusal<T: for<'de> Deserialize<'de> + fmt::Debug>(json: &str) -> String {
        serde_json::from_str::<T>(json).unwrap_err().to_string()
    }

    const TORONTO: &str = "America/Toronto";

    #[test]
    fn a_window_crossing_midnight_holds_until_the_next_morning() {
        // 2026-01-14, EST (-05:00).
        let q = window(TORONTO, "22:00", "07:00");
        assert_eq!(q.until(utc("2026-01-15T02:59:00Z")), None, "21:59");
        assert_eq!(q.until(utc("2026-01-15T03:00:00Z")), Some(utc("2026-01-15T12:00:00Z")), "22:00");
        assert_eq!(q.until(utc("2026-01-15T11:59:00Z")), Some(utc("2026-01-15T12:00:00Z")), "06:59");
        assert_eq!(q.until(utc("2026-01-15T12:00:00Z")), None, "07:00");
    }

    #[test]
    fn spring_forward_in_toronto_shortens_the_night_and_reads_the_gap_as_after_it() {
        // 2026-03-08 02:00 EST (-05:00) becomes 03:00 EDT (-04:00).
        let night = window(TORONTO, "22:00", "07:00");
        let end = night.until(utc("2026-03-08T03:00:00Z")); // Mar 7 22:00 EST
        assert_eq!(end, Some(utc("2026-03-08T11:00:00Z")));
        assert_eq!(night.until(utc("2026-03-08T11:00:00Z")), None);

        let starts_in_gap = window(TORONTO, "02:30", "06:00");
        assert_eq!(starts_in_gap.until(utc("2026-03-08T07:29:59Z")), None);
        assert_eq!(starts_in_gap.until(utc("2026-03-08T07:30:00Z")), Some(utc("2026-03-08T10:00:00Z")));

        let ends_in_gap = window(TORONTO, "23:00", "02:30");
        assert_eq!(ends_in_gap.until(utc("2026-03-08T07:00:00Z")), Some(utc("2026-03-08T07:30:00Z")));
        assert_eq!(ends_in_gap.until(utc("2026-03-08T07:30:00Z")), None);
    }

    #[test]
    fn fall_back_in_toronto_lengthens_the_night_and_reads_the_fold_as_its_first_pass() {
        // 2026-11-01 02:00 EDT (-04:00) becomes 01:00 EST (-05:00).
        let night = window(TORONTO, "22:00", "07:00");
        assert_eq!(night.until(utc("2026-11-01T02:00:00Z")), Some(utc("2026-11-01T12:00:00Z")));

        let ends_in_fold = window(TORONTO, "22:00", "01:30");
        assert_eq!(ends_in_fold.until(utc("2026-11-01T05:29:00Z")), Some(utc("2026-11-01T05:30:00Z")));
        assert_eq!(ends_in_fold.until(utc("2026-11-01T05:45:00Z")), None, "01:45 EDT");
        assert_eq!(ends_in_fold.until(utc("2026-11-01T06:45:00Z")), None, "01:45 EST");

        let starts_in_fold = window(TORONTO, "01:30", "05:00");
        assert_eq!(starts_in_fold.until(utc("2026-11-01T05:29:59Z")), None);
        assert_eq!(starts_in_fold.until(utc("2026-11-01T05:30:00Z")), Some(utc("2026-11-01T10:00:00Z")));
    }

    #[test]
    fn london_spring_forward_starts_a_window_in_the_gap_after_it() {
        // 2026-03-29 01:00 GMT (+00:00) becomes 02:00 BST (+01:00): 01:30 is
        // read as 02:30 BST.
        let q = window("Europe/London", "01:30", "08:00");
        assert_eq!(q.until(utc("2026-03-29T00:59:59Z")), None, "00:59:59 GMT");
        assert_eq!(q.until(utc("2026-03-29T01:29:59Z")), None, "02:29:59 BST");
        assert_eq!(q.until(utc("2026-03-29T01:30:00Z")), Some(utc("2026-03-29T07:00:00Z")), "02:30 BST");
        // The day before, 01:30 GMT.
        assert_eq!(q.until(utc("2026-03-28T01:30:00Z")), Some(utc("2026-03-28T08:00:00Z")));
    }

    #[test]
    fn london_fall_back_ends_a_window_at_the_first_pass_through_the_fold() {
        // 2026-10-25 02:00 BST (+01:00) becomes 01:00 GMT (+00:00).
        let q = window("Europe/London", "23:00", "01:30");
        assert_eq!(q.until(utc("2026-10-24T22:00:00Z")), Some(utc("2026-10-25T00:30:00Z")));
        assert_eq!(q.until(utc("2026-10-25T00:30:00Z")), None, "01:30 BST");
        assert_eq!(q.until(utc("2026-10-25T01:15:00Z")), None, "01:15 GMT");
        let night = window("Europe/London", "22:00", "07:00");
        assert_eq!(night.until(utc("2026-10-24T21:00:00Z")), Some(utc("2026-10-25T07:00:00Z")));
    }

    #[test]
    fn half_hour_offsets_are_kept() {
        // Asia/Kolkata is +05:30 all year.
        let q = window("Asia/Kolkata", "22:00", "07:00");
        assert_eq!(q.until(utc("2026-06-10T16:29:59Z")), None);
        assert_eq!(q.until(utc("2026-06-10T16:30:00Z")), Some(utc("2026-06-11T01:30:00Z")));
        // America/St_Johns: -03:30 in January, -02:30 in July.
        let q = window("America/St_Johns", "22:00", "07:00");
        assert_eq!(q.until(utc("2026-01-15T01:30:00Z")), Some(utc("2026-01-15T10:30:00Z")));
        assert_eq!(q.until(utc("2026-07-15T00:30:00Z")), Some(utc("2026-07-15T09:30:00Z")));
        assert_eq!(q.until(utc("2026-07-15T00:29:59Z")), None);
    }

    #[test]
    fn a_window_belongs_to_the_day_it_starts() {
        // 2026-01-16 is a Friday; EST (-05:00).
        let q = hours(r#"{"time_zone": "America/Toronto", "from": "22:00", "to": "07:00", "days": ["fri"]}"#);
        assert_eq!(q.until(utc("2026-01-17T08:00:00Z")), Some(utc("2026-01-17T12:00:00Z")), "Sat 03:00");
        assert_eq!(q.until(utc("2026-01-18T04:00:00Z")), None, "Sat 23:00");
        assert_eq!(q.until(utc("2026-01-16T08:00:00Z")), None, "Fri 03:00");
    }

    #[test]
    fn whole_days_on_consecutive_days_are_one_period() {
        // Sat 2026-01-17 09:00 EST to Mon 2026-01-19 09:00 EST.
        let q = hours(r#"{"time_zone": "America/Toronto", "from": "09:00", "to": "09:00", "days": ["sat", "sun"]}"#);
        assert_eq!(q.until(utc("2026-01-17T14:00:00Z")), Some(utc("2026-01-19T14:00:00Z")));
        assert_eq!(q.until(utc("2026-01-18T20:00:00Z")), Some(utc("2026-01-19T14:00:00Z")));
        assert_eq!(q.until(utc("2026-01-17T13:59:59Z")), None);
        assert_eq!(q.until(utc("2026-01-19T14:00:00Z")), None);
    }

    #[test]
    fn quiet_every_hour_of_the_week_is_refused() {
        let all = r#"{"time_zone": "UTC", "from": "09:00", "to": "09:00"}"#;
        assert_eq!(at_path::<QuietHours>(all), format!(".: {ALWAYS}"));
        let days = r#"["mon", "tue", "wed", "thu", "fri", "sat", "sun"]"#;
        let seven = format!(r#"{{"time_zone": "UTC", "from": "09:00", "to": "09:00", "days": {days}}}"#);
        assert_eq!(at_path::<QuietHours>(&seven), format!(".: {ALWAYS}"));
        let six = seven.replace(", \"sun\"", "");
        let q = hours(&six);
        // Sunday 2026-01-18 is the gap: Sat's window ends at Sun 09:00.
        assert_eq!(q.until(utc("2026-01-19T09:00:00Z")), Some(utc("2026-01-25T09:00:00Z")));
        assert_eq!(q.until(utc("2026-01-18T09:00:00Z")), None);
    }

    #[test]
    fn the_issues_json_round_trips() {
        let json =
            r#"{"time_zone":"America/Toronto","from":"22:00","to":"07:00","days":["mon","tue","wed","thu","fri"]}"#;
        assert_eq!(serde_json::to_string(&hours(json)).unwrap(), json);
        let every_day = r#"{"time_zone":"america/toronto","from":"00:00","to":"23:59"}"#;
        assert_eq!(serde_json::to_string(&hours(every_day)).unwrap(), every_day);
        let unordered = r#"{"time_zone":"UTC","from":"01:00","to":"02:00","days":["sun","mon"]}"#;
        assert_eq!(serde_json::to_string(&hours(unordered)).unwrap(), unordered);
        let setting: QuietSetting = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&setting).unwrap(), json);
        assert_eq!(serde_json::from_str::<QuietSetting>("false").unwrap(), QuietSetting::Off);
        assert_eq!(serde_json::to_string(&QuietSetting::Off).unwrap(), "false");
    }

    fn field(name: &str, value: &str) -> String {
        let json = r#"{"time_zone": "America/Toronto", "from": "22:00", "to": "07:00"}"#.to_owned();
        let start = json.find(&format!("\"{name}\"")).unwrap();
        let value_start = start + json[start..].find(": ").unwrap() + 2;
        let value_end = value_start + json[value_start..].find([',', '}']).unwrap();
        format!("{}{value}{}", &json[..value_start], &json[value_end..])
    }

    /// The refusal as a caller reports it: with the path, without serde_json's position.
    fn at_path<T: for<'de> Deserialize<'de>>(json: &str) -> String {
        let d = &mut serde_json::Deserializer::from_str(json);
        let e = serde_path_to_error::deserialize::<_, T>(d).err().unwrap();
        let message = e.inner().to_string();
        let message = message.split(" at line ").next().unwrap().to_owned();
        format!("{}: {message}", e.path())
    }

    #[test]
    fn refusals_say_what_was_expected() {
        let zone = "time_zone: expected an IANA time zone such as \"America/Toronto\"";
        assert_eq!(at_path::<QuietHours>(&field("time_zone", "\"Mars/Base\"")), zone);
        let clock = "from: expected a time as HH:MM, such as \"22:00\"";
        for bad in ["\"25:00\"", "\"7:00\"", "\"22:00:00\"", "\"22:60\"", "\"2a:00\"", "\"+2:00\""] {
            assert_eq!(at_path::<QuietHours>(&field("from", bad)), clock, "{bad}");
        }
        let number = "to: invalid type: integer `700`, expected a time as HH:MM, such as \"22:00\"";
        assert_eq!(at_path::<QuietHours>(&field("to", "700")), number);
        let day = "days[1]: expected days among \"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\", \"sun\"";
        assert_eq!(at_path::<QuietHours>(&field("to", "\"07:00\", \"days\": [\"sun\", \"monday\"]")), day);
        let twice = field("to", "\"07:00\", \"days\": [\"mon\", \"tue\", \"mon\"]");
        assert_eq!(at_path::<QuietHours>(&twice), "days: a day is named twice");
        let none = field("to", "\"07:00\", \"days\": []");
        assert_eq!(at_path::<QuietHours>(&none), "days: expected at least one day, or no \"days\" for every day");
        let unknown = "zone: unknown field `zone`, expected one of `time_zone`, `from`, `to`, `days`";
        assert_eq!(at_path::<QuietHours>(&field("to", "\"07:00\", \"zone\": 1")), unknown);
        let missing = r#"{"time_zone": "UTC", "from": "22:00"}"#;
        assert_eq!(at_path::<QuietHours>(missing), ".: missing field `to`");
    }

    #[test]
    fn a_setting_is_false_or_quiet_hours() {
        let expected = "expected false or quiet hours {\"time_zone\", \"from\", \"to\"}";
        assert_eq!(refusal::<QuietSetting>("true"), format!("{expected} at line 1 column 4"));
        let text = "invalid type: string \"off\", expected false or quiet hours {\"time_zone\", \"from\", \"to\"}";
        assert_eq!(refusal::<QuietSetting>("\"off\""), format!("{text} at line 1 column 5"));
        let nested = format!(r#"{{"quiet": {}}}"#, field("from", "\"7:00\""));
        let path = "quiet.from: expected a time as HH:MM, such as \"22:00\"";
        assert_eq!(at_path::<std::collections::HashMap<String, QuietSetting>>(&nested), path);
    }

    #[test]
    fn the_extensions_setting_overrides_the_tenants() {
        let tenant = window(TORONTO, "22:00", "07:00");
        let own = window("Europe/London", "21:00", "08:00");
        let own_setting = QuietSetting::Hours(own.clone());
        assert_eq!(QuietHours::effective(Some(&tenant), None), Some(&tenant));
        assert_eq!(QuietHours::effective(Some(&tenant), Some(&QuietSetting::Off)), None);
        assert_eq!(QuietHours::effective(Some(&tenant), Some(&own_setting)), Some(&own));
        assert_eq!(QuietHours::effective(None, Some(&own_setting)), Some(&own));
        assert_eq!(QuietHours::effective(None, None), None);
        assert_eq!(QuietSetting::Off.hours(), None);
    }

    #[test]
    fn local_times_and_descriptions_read_as_the_operator_wrote_them() {
        let q = window(TORONTO, "22:00", "07:00");
        // Mon 2026-01-12 22:41 EST (-05:00); Sun 2026-07-05 09:05 EDT (-04:00).
        assert_eq!(q.local(utc("2026-01-13T03:41:30Z")), "Mon 22:41");
        assert_eq!(q.local(utc("2026-07-05T13:05:00Z")), "Sun 09:05");
        assert_eq!(q.local(i64::MAX), "");
        assert_eq!(q.until(i64::MAX), None);
        assert_eq!(q.time_zone(), "America/Toronto");
        assert_eq!(q.describe(), "22:00 to 07:00 (America/Toronto), every day");
        let weekdays = hours(
            r#"{"time_zone": "America/Toronto", "from": "22:00", "to": "07:00", "days": ["mon", "tue", "wed", "thu", "fri"]}"#,
        );
        assert_eq!(weekdays.describe(), "22:00 to 07:00 (America/Toronto), mon tue wed thu fri");
    }
}
