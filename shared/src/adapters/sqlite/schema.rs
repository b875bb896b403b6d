//! The file's tables, and how a file of an earlier version is brought up
//! to this one.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use super::db::err;
use crate::ports::StoreError;

/// The schema's version (`PRAGMA user_version`). Version 2 gave claims a
/// holder's token, budgets a kind, and messages an attempt count and their
/// provider's id, and added recording links; version 3 indexes expiry times;
/// version 4 adds the console's sessions, failed sign-ins and the audit log;
/// version 5 the log's counts per tenant, day and status (kept by triggers)
/// and indexes for its status and destination filters; version 6 the
/// voicemails waiting for their transcript, by due time.
const SCHEMA_VERSION: i64 = 6;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS numbers    (number TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tenants    (id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS extensions (tenant TEXT NOT NULL, extension TEXT NOT NULL, data TEXT NOT NULL,
                                       PRIMARY KEY (tenant, extension));
CREATE TABLE IF NOT EXISTS api_keys   (hash TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS claims     (id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, token TEXT NOT NULL,
                                       done INTEGER NOT NULL, lease_until INTEGER NOT NULL, result TEXT,
                                       expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS rates      (tenant TEXT NOT NULL, budget TEXT NOT NULL, window TEXT NOT NULL,
                                       bucket INTEGER NOT NULL, count INTEGER NOT NULL, expires_at INTEGER NOT NULL,
                                       PRIMARY KEY (tenant, budget, window, bucket));
CREATE TABLE IF NOT EXISTS messages   (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, at INTEGER NOT NULL,
                                       data TEXT NOT NULL, expires_at INTEGER NOT NULL,
                                       provider_id TEXT, attempts INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS messages_by_tenant ON messages (tenant, at);
CREATE INDEX IF NOT EXISTS messages_by_provider_id ON messages (provider_id) WHERE provider_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS links      (hash TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS messages_by_expiry ON messages (expires_at);
CREATE INDEX IF NOT EXISTS claims_by_expiry ON claims (expires_at);
CREATE INDEX IF NOT EXISTS rates_by_expiry ON rates (expires_at);
CREATE INDEX IF NOT EXISTS links_by_expiry ON links (expires_at);
CREATE TABLE IF NOT EXISTS sessions   (hash TEXT PRIMARY KEY, data TEXT NOT NULL, expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_by_expiry ON sessions (expires_at);
CREATE TABLE IF NOT EXISTS sign_ins   (source TEXT NOT NULL, bucket INTEGER NOT NULL, count INTEGER NOT NULL,
                                       expires_at INTEGER NOT NULL, PRIMARY KEY (source, bucket));
CREATE INDEX IF NOT EXISTS sign_ins_by_expiry ON sign_ins (expires_at);
CREATE TABLE IF NOT EXISTS audit      (id TEXT PRIMARY KEY, tenant TEXT, at INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_by_tenant ON audit (tenant, id);
CREATE INDEX IF NOT EXISTS messages_by_status ON messages (tenant, data ->> '$.status', at);
CREATE INDEX IF NOT EXISTS messages_by_recipient ON messages (tenant, data ->> '$.to', at);
CREATE TABLE IF NOT EXISTS daily      (tenant TEXT NOT NULL, day INTEGER NOT NULL, status TEXT NOT NULL,
                                       count INTEGER NOT NULL, PRIMARY KEY (tenant, day, status)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS waits      (id TEXT PRIMARY KEY, due INTEGER NOT NULL, data TEXT NOT NULL,
                                       expires_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS waits_by_due ON waits (due);
CREATE INDEX IF NOT EXISTS waits_by_expiry ON waits (expires_at);
CREATE TRIGGER IF NOT EXISTS daily_on_insert AFTER INSERT ON messages BEGIN
  INSERT INTO daily VALUES (NEW.tenant, NEW.at - NEW.at % 86400, NEW.data ->> '$.status', 1)
    ON CONFLICT DO UPDATE SET count = count + 1;
END;
CREATE TRIGGER IF NOT EXISTS daily_on_update AFTER UPDATE OF tenant, at, data ON messages BEGIN
  UPDATE daily SET count = count - 1
   WHERE tenant = OLD.tenant AND day = OLD.at - OLD.at % 86400 AND status = OLD.data ->> '$.status';
  INSERT INTO daily VALUES (NEW.tenant, NEW.at - NEW.at % 86400, NEW.data ->> '$.status', 1)
    ON CONFLICT DO UPDATE SET count = count + 1;
END;
CREATE TRIGGER IF NOT EXISTS daily_on_delete AFTER DELETE ON messages BEGIN
  UPDATE daily SET count = count - 1
   WHERE tenant = OLD.tenant AND day = OLD.at - OLD.at % 86400 AND status = OLD.data ->> '$.status';
END;
";

/// To version 5: the counts of the log already there.
const COUNT_DAYS: &str = "
INSERT INTO daily SELECT tenant, at - at % 86400, data ->> '$.status', count(*) FROM messages GROUP BY 1, 2, 3;
";

/// From version 1: claims and rate counters are short-lived and go; the
/// message log is kept and gains its new columns.
const MIGRATE_1_TO_2: &str = "
DROP TABLE IF EXISTS claims;
DROP TABLE IF EXISTS rates;
ALTER TABLE messages ADD COLUMN provider_id TEXT;
ALTER TABLE messages ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
";

/// Brings a file of any earlier version to this one, in one transaction.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(err)?;
    let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(err)?;
    let has_messages = tx
        .query_row("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages'", [], |_| Ok(()))
        .optional()
        .map_err(err)?
        .is_some();
    if version < 2 && has_messages {
        tx.execute_batch(MIGRATE_1_TO_2).map_err(err)?;
    }
    if version < SCHEMA_VERSION {
        tx.execute_batch(SCHEMA).map_err(err)?;
        if version < 5 {
            tx.execute_batch(COUNT_DAYS).map_err(err)?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(err)?;
    }
    tx.commit().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(conn: &Connection) -> Vec<(i64, String, i64)> {
        let mut stmt = conn.prepare("SELECT day, status, count FROM daily WHERE count > 0 ORDER BY 1, 2").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect()
    }

    fn put(conn: &Connection, id: &str, at: i64, status: &str) {
        let data = format!(r#"{{"status":"{status}"}}"#);
        conn.execute(
            "INSERT INTO messages (id, tenant, at, data, expires_at) VALUES (?1, '59', ?2, ?3, 0)
             ON CONFLICT (id) DO UPDATE SET at = ?2, data = ?3",
            rusqlite::params![id, at, data],
        )
        .unwrap();
    }

    #[test]
    fn the_daily_counts_follow_every_write_and_a_version_4_file_gets_its_log_counted() {
        let dir = std::env::temp_dir().join(format!("sms-schema-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("v4.db");
        let _ = std::fs::remove_file(&path);
        let mut conn = super::super::db::open(&path).unwrap();
        migrate(&mut conn).unwrap();
        // A file of version 4: its log, no counts yet.
        conn.execute_batch(
            "DROP TRIGGER daily_on_insert; DROP TRIGGER daily_on_update; DROP TRIGGER daily_on_delete;
             DROP TABLE daily; PRAGMA user_version = 4;",
        )
        .unwrap();
        let day = 20_000 * 86_400;
        put(&conn, "a", day + 5, "sent");
        put(&conn, "b", day + 6, "sent");
        put(&conn, "c", day + 86_400, "failed");
        migrate(&mut conn).unwrap();
        let mut expected = vec![(day, "sent".to_owned(), 2), (day + 86_400, "failed".to_owned(), 1)];
        assert_eq!(counts(&conn), expected);
        // A status reached the next day moves the message; a delete takes it out.
        put(&conn, "a", day + 86_400 + 9, "delivered");
        expected =
            vec![(day, "sent".into(), 1), (day + 86_400, "delivered".into(), 1), (day + 86_400, "failed".into(), 1)];
        assert_eq!(counts(&conn), expected);
        conn.execute("DELETE FROM messages WHERE id = 'c'", []).unwrap();
        conn.execute("UPDATE messages SET data = '{\"status\":\"delivered\"}' WHERE id = 'b'", []).unwrap();
        assert_eq!(counts(&conn), [(day, "delivered".into(), 1), (day + 86_400, "delivered".into(), 1)]);
        drop(conn);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
