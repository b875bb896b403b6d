//! Every time format the product reads or writes, each from one `time`
//! format description: RFC 3339 (the REST API, templates, the CLI, the
//! outbox), PBXware's report dates and times, SNS's delivery status
//! timestamps.

use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

/// `2026-11-27 10:01:00` (UTC): PBXware's report `date/time`.
const DATE_TIME: &[BorrowedFormatItem<'_>] = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");

/// `Nov-27-2026`, the month in any case: PBXware's report dates.
const REPORT_DATE: &[BorrowedFormatItem<'_>] =
    format_description!("[month repr:short case_sensitive:false]-[day]-[year]");

/// `23:59:59`: PBXware's report times.
const REPORT_TIME: &[BorrowedFormatItem<'_>] = format_description!("[hour]:[minute]:[second]");

/// SNS's delivery status timestamps, `2016-06-28 00:40:34.558` (UTC): read
/// with a fraction of any number of digits or none, as real records have.
const SNS_READ: &[BorrowedFormatItem<'_>] =
    format_description!(version = 2, "[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]]");

/// What SNS writes: milliseconds.
const SNS_WRITE: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3]");

/// `2026-11-27`: an HTML date field's value, and the console's days.
const DAY: &[BorrowedFormatItem<'_>] = format_description!("[year]-[month]-[day]");

/// A day (UTC) as `2026-11-27`; empty out of range.
pub fn day(epoch_secs: i64) -> String {
    at(epoch_secs).and_then(|t| t.format(DAY).ok()).unwrap_or_default()
}

/// The start (UTC) of a `2026-11-27` day, as epoch seconds.
pub fn parse_day(text: &str) -> Option<i64> {
    Date::parse(text, DAY).ok().map(|d| d.midnight().assume_utc().unix_timestamp())
}

fn at(epoch_secs: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(epoch_secs).ok()
}

/// RFC 3339, UTC, whole seconds: `2026-11-27T10:01:00Z`; `None` out of range.
pub fn rfc3339(epoch_secs: i64) -> Option<String> {
    at(epoch_secs)?.format(&Rfc3339).ok()
}

/// An RFC 3339 time, as epoch seconds.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &Rfc3339).ok().map(OffsetDateTime::unix_timestamp)
}

/// PBXware's report `date/time`; empty out of range.
pub fn report_date_time(epoch_secs: i64) -> String {
    at(epoch_secs).and_then(|t| t.format(DATE_TIME).ok()).unwrap_or_default()
}

pub fn parse_report_date(text: &str) -> Option<Date> {
    Date::parse(text, REPORT_DATE).ok()
}

pub fn parse_report_time(text: &str) -> Option<Time> {
    Time::parse(text, REPORT_TIME).ok()
}

/// An SNS delivery status timestamp, as epoch seconds.
pub fn parse_sns_timestamp(text: &str) -> Option<i64> {
    PrimitiveDateTime::parse(text, SNS_READ).ok().map(|t| t.assume_utc().unix_timestamp())
}

/// An SNS delivery status timestamp of this time (epoch milliseconds).
pub fn sns_timestamp(epoch_ms: i64) -> String {
    let nanos = i128::from(epoch_ms) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok().and_then(|t| t.format(SNS_WRITE).ok()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Month;

    #[test]
    fn rfc3339_round_trips_in_whole_seconds() {
        assert_eq!(rfc3339(1_795_000_000).as_deref(), Some("2026-11-18T11:06:40Z"));
        assert_eq!(parse_rfc3339("2026-11-18T11:06:40Z"), Some(1_795_000_000));
        assert_eq!(parse_rfc3339("2026-11-18T12:06:40+01:00"), Some(1_795_000_000));
        assert_eq!(parse_rfc3339("2026-11-18 11:06:40"), None);
        assert_eq!(rfc3339(i64::MAX), None);
    }

    #[test]
    fn report_dates_and_times_are_pbxwares() {
        assert_eq!(report_date_time(1_795_000_000), "2026-11-18 11:06:40");
        assert_eq!(parse_report_date("Nov-27-2026"), Date::from_calendar_date(2026, Month::November, 27).ok());
        assert_eq!(parse_report_date("nov-01-2026"), Date::from_calendar_date(2026, Month::November, 1).ok());
        assert_eq!(parse_report_date("NOV-01-2026"), Date::from_calendar_date(2026, Month::November, 1).ok());
        for bad in ["Nov-27-26", "November-27-2026", "Nov-7-2026", "Feb-30-2026", "2026-11-27", "Nov-27-2026-1", ""] {
            assert_eq!(parse_report_date(bad), None, "{bad}");
        }
        assert_eq!(parse_report_time("23:59:59"), Time::from_hms(23, 59, 59).ok());
        for bad in ["24:00:00", "1:00:00", "10:00", "10:00:00.5", ""] {
            assert_eq!(parse_report_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn sns_timestamps_are_read_with_any_fraction_and_written_in_milliseconds() {
        assert_eq!(parse_sns_timestamp("2016-06-28 00:40:34.558"), Some(1_467_074_434));
        assert_eq!(parse_sns_timestamp("2022-03-08 19:09:37.3"), Some(1_646_766_577));
        assert_eq!(parse_sns_timestamp("2016-06-28 00:40:34"), Some(1_467_074_434));
        for bad in ["2016-06-28 00:40:34.", "yesterday", "2016-06-28T00:40:34"] {
            assert_eq!(parse_sns_timestamp(bad), None, "{bad}");
        }
        assert_eq!(sns_timestamp(1_467_074_434_558), "2016-06-28 00:40:34.558");
        assert_eq!(sns_timestamp(1_467_074_434_000), "2016-06-28 00:40:34.000");
        assert_eq!(parse_sns_timestamp(&sns_timestamp(1_467_074_434_007)), Some(1_467_074_434));
    }
}
