//! What commands print: aligned tables, readable times, pretty JSON.

/// `println!` that does not panic when the reader is gone (`smsctl outbox |
/// head`): what cannot be written is dropped.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}
pub(crate) use say;

/// Prints `rows` under `headers`, each column as wide as its widest cell;
/// `empty` instead when there is nothing to show.
pub fn table(headers: &[&str], rows: &[Vec<String>], empty: &str) {
    if rows.is_empty() {
        say!("{empty}");
        return;
    }
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let padded: Vec<String> = cells.zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        say!("{}", padded.join("  ").trim_end());
    };
    line(&mut headers.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
}

/// Seconds since the epoch, as RFC 3339 UTC.
pub fn time(epoch_secs: i64) -> String {
    shared::domain::times::rfc3339(epoch_secs).unwrap_or_else(|| epoch_secs.to_string())
}

pub fn json<T: serde::Serialize>(value: &T) -> crate::fail::Result {
    let text = serde_json::to_string_pretty(value).map_err(|e| crate::fail::Fail::new(e.to_string()))?;
    say!("{text}");
    Ok(())
}
