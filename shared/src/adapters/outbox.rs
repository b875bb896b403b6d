//! The local SMS gateway: every SMS "sent" is kept in a SQLite outbox (and
//! printed when asked), instead of going to a phone. Destinations listed as
//! opted out behave like opted-out numbers at a real provider: refused by
//! the opt-out check, and, when sent anyway, failed by their receipt.
//!
//! Each send also writes its delivery receipt, in the format SNS writes its
//! SMS delivery status logs: `delivered` at once, `failed` for an opted-out
//! destination. [`OutboxGateway::receipts`] hands them out, to go
//! through the same code as SNS's (`smsctl serve` does it every second).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::sqlite::db::{Db, err};
use super::sqlite::{SqliteStore, exec};
use crate::domain::text::escape;
use crate::domain::{E164, status_log_line, times};
use crate::ports::{GatewayError, OutgoingSms, SharedClock, SmsGateway, StoreError};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
    tenant TEXT NOT NULL, kind TEXT NOT NULL, sender TEXT NOT NULL, recipient TEXT NOT NULL,
    text TEXT NOT NULL, encoding TEXT NOT NULL, segments INTEGER NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS opted_out (number TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS receipts (seq INTEGER PRIMARY KEY AUTOINCREMENT, delivered INTEGER NOT NULL,
    line TEXT NOT NULL);
";

/// Receipts to hand out; acknowledged up to `up_to` once applied.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PendingReceipts {
    pub up_to: i64,
    pub delivered: Vec<String>,
    pub failed: Vec<String>,
}

/// One SMS in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: String,
    pub tenant: String,
    pub kind: String,
    pub from: String,
    pub to: String,
    pub text: String,
    pub encoding: String,
    pub segments: usize,
    /// RFC 3339, UTC.
    pub at: String,
}

pub struct OutboxGateway {
    db: Db,
    /// Print each SMS to standard output as it is sent (`smsctl serve`).
    echo: bool,
    /// What the outbox and the receipts are stamped with.
    clock: SharedClock,
}

impl OutboxGateway {
    /// The outbox on its own connection to `path`.
    pub fn open(path: &Path, echo: bool, clock: SharedClock) -> Result<Self, StoreError> {
        let db = Db::open(path, |conn| conn.execute_batch(SCHEMA).map_err(err))?;
        Ok(OutboxGateway { db, echo, clock })
    }

    /// The outbox on a connection already open (the store's, on the same
    /// file): one writer for both.
    pub async fn on(db: Db, echo: bool, clock: SharedClock) -> Result<Self, StoreError> {
        db.call(|conn| conn.execute_batch(SCHEMA).map_err(err)).await?;
        Ok(OutboxGateway { db, echo, clock })
    }

    /// Newest first.
    pub async fn list(&self, limit: usize) -> Result<Vec<OutboxEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db.call(move |conn| list(conn, limit)).await
    }

    /// The oldest delivery receipts not acknowledged yet, at most `limit`,
    /// as SNS delivery status log lines, successes apart from failures.
    pub async fn receipts(&self, limit: usize) -> Result<PendingReceipts, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db.call(move |conn| receipts(conn, limit)).await
    }

    /// Forgets the receipts handed out, up to this one.
    pub async fn ack_receipts(&self, up_to: i64) -> Result<(), StoreError> {
        self.db.call(move |conn| exec(conn, "DELETE FROM receipts WHERE seq <= ?1", [up_to]).map(drop)).await
    }

    /// Marks a destination as opted out (or back in).
    pub async fn set_opted_out(&self, number: &E164, opted_out: bool) -> Result<(), StoreError> {
        let sql = if opted_out {
            "INSERT OR IGNORE INTO opted_out (number) VALUES (?1)"
        } else {
            "DELETE FROM opted_out WHERE number = ?1"
        };
        let number = number.as_str().to_owned();
        self.db.call(move |conn| exec(conn, sql, [number]).map(drop)).await
    }
}

fn list(conn: &Connection, limit: i64) -> Result<Vec<OutboxEntry>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, tenant, kind, sender, recipient, text, encoding, segments, at
             FROM outbox ORDER BY seq DESC LIMIT ?1",
        )
        .map_err(err)?;
    let rows = stmt
        .query_map([limit], |r| {
            Ok(OutboxEntry {
                id: r.get(0)?,
                tenant: r.get(1)?,
                kind: r.get(2)?,
                from: r.get(3)?,
                to: r.get(4)?,
                text: r.get(5)?,
                encoding: r.get(6)?,
                segments: r.get::<_, i64>(7)? as usize,
                at: r.get(8)?,
            })
        })
        .map_err(err)?;
    rows.map(|r| r.map_err(err)).collect()
}

fn receipts(conn: &Connection, limit: i64) -> Result<PendingReceipts, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT seq, delivered, line FROM receipts ORDER BY seq LIMIT ?1").map_err(err)?;
    let rows = stmt
        .query_map([limit], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, bool>(1)?, r.get::<_, String>(2)?)))
        .map_err(err)?;
    let mut pending = PendingReceipts::default();
    for row in rows {
        let (seq, delivered, line) = row.map_err(err)?;
        pending.up_to = seq;
        if delivered { &mut pending.delivered } else { &mut pending.failed }.push(line);
    }
    Ok(pending)
}

fn opted_out(conn: &Connection, number: &str) -> Result<bool, StoreError> {
    let found = conn
        .prepare_cached("SELECT 1 FROM opted_out WHERE number = ?1")
        .and_then(|mut stmt| stmt.query_row([number], |_| Ok(())).optional())
        .map_err(err)?;
    Ok(found.is_some())
}

/// One SMS in the outbox, with its receipt: `failed` for an opted-out
/// destination, as a carrier would answer.
struct Row {
    id: String,
    tenant: String,
    kind: &'static str,
    from: String,
    to: String,
    text: String,
    encoding: &'static str,
    segments: i64,
    at: String,
    at_ms: i64,
}

fn insert(conn: &Connection, row: &Row) -> Result<(), StoreError> {
    let delivered = !opted_out(conn, &row.to)?;
    exec(
        conn,
        "INSERT INTO outbox (id, tenant, kind, sender, recipient, text, encoding, segments, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![row.id, row.tenant, row.kind, row.from, row.to, row.text, row.encoding, row.segments, row.at],
    )?;
    let segments = usize::try_from(row.segments).unwrap_or_default();
    let line = status_log_line(&row.id, segments, &row.to, delivered, row.at_ms);
    exec(conn, "INSERT INTO receipts (delivered, line) VALUES (?1, ?2)", params![delivered, line]).map(drop)
}

/// The embedded backend: the store, and the outbox on its connection when
/// both are in one file (the default), so that the file has one writer.
pub async fn embedded(
    db: &Path,
    outbox: &Path,
    echo: bool,
    clock: SharedClock,
) -> Result<(Arc<SqliteStore>, Arc<OutboxGateway>), StoreError> {
    let store = SqliteStore::open(db)?;
    let outbox = match outbox == db {
        true => OutboxGateway::on(store.db(), echo, clock).await?,
        false => OutboxGateway::open(outbox, echo, clock)?,
    };
    Ok((Arc::new(store), Arc::new(outbox)))
}

/// How `smsctl serve` shows an SMS: one line, the text escaped, so that no
/// text can start a forged `[outbox]` line or reach the terminal as an
/// escape sequence.
fn echo_line(at: &str, sms: &OutgoingSms<'_>) -> String {
    format!(
        "[outbox] {at} {} -> {} (tenant {}, {}, {} segment(s)): {}",
        sms.from,
        sms.to,
        sms.tenant,
        sms.text.encoding(),
        sms.text.segments(),
        escape(sms.text.as_str())
    )
}

#[async_trait]
impl SmsGateway for OutboxGateway {
    fn provider(&self) -> &'static str {
        "Local outbox"
    }

    async fn send(&self, sms: OutgoingSms<'_>) -> Result<String, GatewayError> {
        // Time-ordered: the outbox's and the message log's indexes on it
        // grow at their end instead of dirtying a random page per SMS.
        let id = format!("outbox-{}", uuid::Uuid::now_v7());
        let now_ms = self.clock.now_ms();
        let row = Row {
            tenant: sms.tenant.as_str().to_owned(),
            kind: sms.kind.as_str(),
            from: sms.from.as_str().to_owned(),
            to: sms.to.as_str().to_owned(),
            text: sms.text.as_str().to_owned(),
            encoding: sms.text.encoding().as_str(),
            segments: sms.text.segments() as i64,
            at: times::rfc3339(now_ms.div_euclid(1000)).unwrap_or_default(),
            at_ms: now_ms,
            id,
        };
        let (id, at) = (row.id.clone(), row.at.clone());
        self.db
            .call(move |conn| insert(conn, &row))
            .await
            .map_err(|e| GatewayError::Unavailable(format!("outbox: {}", e.0)))?;
        if self.echo {
            // A closed stdout must not fail (or panic) a send.
            let _ = writeln!(std::io::stdout().lock(), "{}", echo_line(&at, &sms));
        }
        Ok(id)
    }

    async fn opted_out(&self, to: &E164) -> Result<bool, GatewayError> {
        let to = to.as_str().to_owned();
        self.db
            .call(move |conn| opted_out(conn, &to))
            .await
            .map_err(|e| GatewayError::Unavailable(format!("outbox: {}", e.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MessageKind, MessageText, TenantId};

    #[test]
    fn an_echoed_sms_stays_on_its_line() {
        let (tenant, from, to) = (
            TenantId::parse("59").unwrap(),
            E164::parse("+14165550000").unwrap(),
            E164::parse("+14165551234").unwrap(),
        );
        let text =
            MessageText::new("hi\n[outbox] 2026 +1 -> +2 (tenant 70): forged\u{2028}\u{202e}evil\u{1b}]0;title\u{7}")
                .unwrap();
        let sms = OutgoingSms { tenant: &tenant, kind: MessageKind::Api, from: &from, to: &to, text: &text };
        let line = echo_line("2026-11-27T10:00:00Z", &sms);
        assert_eq!(line.lines().count(), 1, "{line}");
        assert!(!line.chars().any(crate::domain::text::is_invisible), "{line:?}");
        assert!(
            line.ends_with(r"hi\n[outbox] 2026 +1 -> +2 (tenant 70): forged\u{2028}\u{202e}evil]0;title"),
            "{line}"
        );
    }
}
