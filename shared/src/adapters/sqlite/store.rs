//! The hot path on SQLite: lookups, a message's start and end under its
//! claim, receipts, the message log's pages, recording links.

use std::sync::atomic::Ordering;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, params};

use super::db::err;
use super::{SqliteStore, exec, from_json, messages, one, to_json};
use crate::domain::{
    Cursor, ExtensionRecord, KeyHash, MessageKind, MessageRecord, MessageStatus, RateLimits, Receipt, RecordingLink,
    Tenant, TenantId, Window,
};
use crate::ports::{
    Begun, Claim, Closing, End, Finished, Found, Held, Lookup, Member, MessagePage, MessageQuery, Received, Resume,
    Resumed, Start, Store, StoreError, WaitChange, Waiting,
};

/// A claim, owned, to travel to the connection's thread.
struct ClaimRow {
    id: String,
    fingerprint: String,
    token: String,
    lease_until: i64,
    keep_secs: i64,
}

impl ClaimRow {
    fn of(c: &Claim<'_>) -> Self {
        ClaimRow {
            id: c.id.to_owned(),
            fingerprint: c.fingerprint.to_owned(),
            token: c.token.to_owned(),
            lease_until: c.lease_until,
            keep_secs: c.keep_secs,
        }
    }

    fn as_claim(&self) -> Claim<'_> {
        Claim {
            id: &self.id,
            fingerprint: &self.fingerprint,
            token: &self.token,
            lease_until: self.lease_until,
            keep_secs: self.keep_secs,
        }
    }
}

/// A claim's closing, owned.
struct ClosingRow {
    id: String,
    token: String,
    result: Option<String>,
    keep_secs: i64,
}

impl ClosingRow {
    fn of(c: &Closing<'_>) -> Self {
        ClosingRow {
            id: c.id.to_owned(),
            token: c.token.to_owned(),
            result: c.result.map(str::to_owned),
            keep_secs: c.keep_secs,
        }
    }

    fn as_closing(&self) -> Closing<'_> {
        Closing { id: &self.id, token: &self.token, result: self.result.as_deref(), keep_secs: self.keep_secs }
    }
}

/// A change of a wait, owned.
enum WaitRow {
    Park(Box<Waiting>),
    Drop(String),
}

impl WaitRow {
    fn of(w: &WaitChange<'_>) -> Self {
        match w {
            WaitChange::Park(waiting) => WaitRow::Park(Box::new((*waiting).clone())),
            WaitChange::Drop(id) => WaitRow::Drop((*id).to_owned()),
        }
    }

    fn as_change(&self) -> WaitChange<'_> {
        match self {
            WaitRow::Park(waiting) => WaitChange::Park(waiting),
            WaitRow::Drop(id) => WaitChange::Drop(id),
        }
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn lookup(&self, l: Lookup<'_>) -> Result<Found, StoreError> {
        let (key, tenant, extension, number) =
            (l.key.cloned(), l.tenant.cloned(), l.extension.cloned(), l.number.cloned());
        self.db
            .call(move |conn| {
                // One transaction counts a send: no slot is taken with the read.
                let l = Lookup {
                    key: key.as_ref(),
                    tenant: tenant.as_ref(),
                    extension: extension.as_ref(),
                    number: number.as_ref(),
                    send_at: None,
                };
                lookup(conn, l)
            })
            .await
    }

    async fn begin(&self, start: &Start<'_>) -> Result<Begun, StoreError> {
        let (record, claim, link) = (start.record.clone(), start.claim.as_ref().map(ClaimRow::of), start.link.cloned());
        let (budget, now, log_keep_secs) = (start.budget, start.now, start.log_keep_secs);
        self.db
            .call(move |conn| {
                let claim = claim.as_ref().map(ClaimRow::as_claim);
                begin(conn, &Start { record: &record, claim, budget, now, log_keep_secs, link: link.as_ref() })
            })
            .await
    }

    async fn finish(&self, end: &End<'_>) -> Result<Finished, StoreError> {
        let (record, closing, token) =
            (end.record.clone(), end.claim.as_ref().map(ClosingRow::of), end.token.to_owned());
        let (now, log_keep_secs, purged, wait, attempts) =
            (end.now, end.log_keep_secs, self.purged.clone(), end.wait.map(|w| WaitRow::of(&w)), end.attempts);
        let carried: Vec<(MessageRecord, ClosingRow)> =
            end.members.iter().map(|m| (m.record.clone(), ClosingRow::of(&m.claim))).collect();
        self.db
            .call(move |conn| {
                let claim = closing.as_ref().map(ClosingRow::as_closing);
                let wait = wait.as_ref().map(WaitRow::as_change);
                let members: Vec<Member<'_>> =
                    carried.iter().map(|(record, c)| Member { record, claim: c.as_closing() }).collect();
                let end = End {
                    record: &record,
                    claim,
                    now,
                    log_keep_secs,
                    token: &token,
                    wait,
                    members: &members,
                    attempts,
                };
                let done = finish(conn, &end)?;
                // Once a second of the clock, not for every send: expired
                // rows go at most a second later (DynamoDB's TTL takes days).
                if purged.fetch_max(now, Ordering::Relaxed) < now {
                    purge(conn, now)?;
                }
                Ok(done)
            })
            .await
    }

    async fn receive(&self, receipt: &Receipt) -> Result<Received, StoreError> {
        let receipt = receipt.clone();
        self.db.call(move |conn| receive(conn, &receipt)).await
    }

    async fn page(&self, q: &MessageQuery<'_>) -> Result<MessagePage, StoreError> {
        let limit = q.limit;
        let params = (
            q.tenant.as_str().to_owned(),
            q.since,
            q.until,
            q.after.map(|c| c.at),
            q.after.map(|c| c.id.clone()),
            q.status.map(MessageStatus::as_str),
            q.from.map(str::to_owned),
            q.to.map(str::to_owned),
            i64::try_from(limit).unwrap_or(i64::MAX),
        );
        let sql = page_sql(q);
        let messages = self.db.call(move |conn| messages(conn, &sql, params)).await?;
        let next =
            (messages.len() == limit).then(|| messages.last().map(|m| Cursor { at: m.at, id: m.id.clone() })).flatten();
        Ok(MessagePage { messages, next })
    }

    async fn message(&self, id: &str) -> Result<Option<MessageRecord>, StoreError> {
        let id = id.to_owned();
        let found =
            self.db.call(move |conn| messages(conn, "SELECT data, attempts FROM messages WHERE id = ?1", [id])).await?;
        Ok(found.into_iter().next())
    }

    async fn link(&self, hash: &KeyHash) -> Result<Option<RecordingLink>, StoreError> {
        let hash = hash.as_str().to_owned();
        self.db.call(move |conn| one(conn, "SELECT data FROM links WHERE hash = ?1", [hash])).await
    }

    async fn waiting(&self, message_id: &str) -> Result<Option<Waiting>, StoreError> {
        let id = message_id.to_owned();
        self.db.call(move |conn| one(conn, "SELECT data FROM waits WHERE id = ?1", [id])).await
    }

    async fn resume(&self, r: &Resume<'_>) -> Result<Resumed, StoreError> {
        let (waits, token, link) = (r.waits.to_vec(), r.token.to_owned(), r.link.cloned());
        let (lease_until, now) = (r.lease_until, r.now);
        self.db
            .call(move |conn| {
                let link = link.as_ref();
                resume(conn, &Resume { waits: &waits, token: &token, lease_until, now, link })
            })
            .await
    }

    async fn due(&self, now: i64, limit: usize) -> Result<Vec<String>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .call(move |conn| {
                let mut stmt =
                    conn.prepare_cached("SELECT id FROM waits WHERE due <= ?1 ORDER BY due LIMIT ?2").map_err(err)?;
                let rows = stmt.query_map(params![now, limit], |r| r.get(0)).map_err(err)?;
                rows.collect::<Result<Vec<String>, _>>().map_err(err)
            })
            .await
    }

    async fn update_extension(&self, next: &ExtensionRecord, read: &ExtensionRecord) -> Result<bool, StoreError> {
        let p = (next.tenant.as_str().to_owned(), next.extension.as_str().to_owned(), to_json(next)?, to_json(read)?);
        let sql = "UPDATE extensions SET data = ?3 WHERE tenant = ?1 AND extension = ?2 AND data = ?4";
        self.db.call(move |conn| Ok(exec(conn, sql, p)? == 1)).await
    }
}

fn lookup(conn: &Connection, l: Lookup<'_>) -> Result<Found, StoreError> {
    let mut found = Found::default();
    if let Some(h) = l.key {
        found.key = one(conn, "SELECT data FROM api_keys WHERE hash = ?1", [h.as_str()])?;
    }
    if let Some(t) = l.tenant {
        found.tenant = one::<Tenant>(conn, "SELECT data FROM tenants WHERE id = ?1", [t.as_str()])?;
        if let Some(sender) = found.tenant.as_ref().and_then(|t| t.sender_number.as_ref()) {
            found.sender = one(conn, "SELECT data FROM numbers WHERE number = ?1", [sender.as_str()])?;
        }
        if let Some(x) = l.extension {
            found.extension = one(
                conn,
                "SELECT data FROM extensions WHERE tenant = ?1 AND extension = ?2",
                [t.as_str(), x.as_str()],
            )?;
        }
    }
    if let Some(n) = l.number {
        found.number = one(conn, "SELECT data FROM numbers WHERE number = ?1", [n.as_str()])?;
    }
    Ok(found)
}

/// Runs in the call's savepoint: what it wrote is undone if it fails.
fn begin(conn: &Connection, start: &Start<'_>) -> Result<Begun, StoreError> {
    let record = start.record;
    if let Some(claim) = &start.claim
        && let Some(held) = held(conn, claim.id, start.now)?
    {
        return Ok(Begun::Held(held));
    }
    if let Some((budget, limits)) = start.budget
        && let Some(window) = take_rate(conn, &record.tenant, budget, limits, start.now)?
    {
        return Ok(Begun::Limited(window));
    }
    if let Some(claim) = &start.claim {
        // A final record ends the work here: the claim is finished at once.
        let (done, result, expires_at) = match record.status {
            MessageStatus::Sending => (false, None, claim.lease_until),
            status => (true, Some(status.as_str()), start.now + claim.keep_secs),
        };
        exec(
            conn,
            "INSERT OR REPLACE INTO claims (id, fingerprint, token, done, lease_until, result, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![claim.id, claim.fingerprint, claim.token, done, claim.lease_until, result, expires_at],
        )?;
    }
    let attempt = i64::from(record.status == MessageStatus::Sending);
    put_message(conn, record, start.log_keep_secs, attempt)?;
    if let Some(link) = start.link {
        put_link(conn, link)?;
    }
    Ok(Begun::Started)
}

fn put_link(conn: &Connection, link: &RecordingLink) -> Result<(), StoreError> {
    exec(
        conn,
        "INSERT OR REPLACE INTO links (hash, data, expires_at) VALUES (?1, ?2, ?3)",
        params![link.hash.as_str(), to_json(link)?, link.expires_at],
    )
    .map(drop)
}

/// A try of an end finds its claims pending and its own (written now),
/// finished by its own token (an earlier try's), gone when it released them
/// (an earlier try's too), or another's. A digest's members are all
/// checked before anything is written.
fn finish(conn: &Connection, end: &End<'_>) -> Result<Finished, StoreError> {
    let closings = end.claim.iter().chain(end.members.iter().map(|m| &m.claim));
    for closing in closings.clone() {
        if let Some(found) = holder(conn, closing)? {
            return Ok(found);
        }
    }
    for closing in closings {
        match closing.result {
            Some(result) => exec(
                conn,
                "UPDATE claims SET done = 1, result = ?2, expires_at = ?3 WHERE id = ?1",
                params![closing.id, result, end.now + closing.keep_secs],
            ),
            None => exec(conn, "DELETE FROM claims WHERE id = ?1", [closing.id]),
        }?;
    }
    let keep_secs = end.claim.map_or(0, |c| c.keep_secs);
    match end.wait {
        Some(WaitChange::Park(w)) => exec(
            conn,
            "INSERT OR REPLACE INTO waits (id, due, data, expires_at) VALUES (?1, ?2, ?3, ?4)",
            params![w.message_id, w.due, to_json(w)?, end.now + keep_secs],
        )
        .map(drop)?,
        Some(WaitChange::Drop(id)) if end.claim.is_some_and(|c| c.result.is_some()) => {
            exec(conn, "DELETE FROM waits WHERE id = ?1", [id])?;
        }
        _ => {}
    }
    for member in end.members {
        if member.claim.result.is_some() {
            exec(conn, "DELETE FROM waits WHERE id = ?1", [&member.record.id])?;
        }
        put_message(conn, member.record, end.log_keep_secs, end.attempts)?;
    }
    put_message(conn, end.record, end.log_keep_secs, end.attempts)?;
    Ok(Finished::Done)
}

/// What an end's try finds of a claim it closes: `None` when it is still
/// pending and its own.
fn holder(conn: &Connection, closing: &Closing<'_>) -> Result<Option<Finished>, StoreError> {
    let holder: Option<(String, bool)> = conn
        .prepare_cached("SELECT token, done FROM claims WHERE id = ?1")
        .and_then(|mut stmt| stmt.query_row([closing.id], |r| Ok((r.get(0)?, r.get(1)?))))
        .optional()
        .map_err(err)?;
    Ok(match holder {
        Some((token, false)) if token == closing.token => None,
        Some((token, true)) if token == closing.token => Some(Finished::AlreadyDone),
        None if closing.result.is_none() => Some(Finished::AlreadyDone),
        _ => Some(Finished::TakenOver),
    })
}

/// Waiting voicemails' claims taken again: from `transcribing` or `held`,
/// released or past their lease; their waits due when this lease ends.
/// All are checked before any is taken.
fn resume(conn: &Connection, r: &Resume<'_>) -> Result<Resumed, StoreError> {
    let parked = [MessageStatus::Transcribing.as_str(), MessageStatus::Held.as_str()];
    for waiting in r.waits {
        match held(conn, &waiting.claim, r.now)? {
            Some(Held::Done { result, .. }) if parked.contains(&result.as_str()) => {}
            Some(held) => return Ok(Resumed::Held(held)),
            None => {}
        }
        let present: Option<i64> = conn
            .query_row("SELECT 1 FROM waits WHERE id = ?1", [&waiting.message_id], |row| row.get(0))
            .optional()
            .map_err(err)?;
        if present.is_none() {
            // Finished meanwhile, and its claim expired since.
            let fingerprint = waiting.voicemail.identity.clone();
            return Ok(Resumed::Held(Held::Done { fingerprint, result: String::new() }));
        }
    }
    for waiting in r.waits {
        exec(conn, "UPDATE waits SET due = ?2 WHERE id = ?1", params![waiting.message_id, r.lease_until])?;
        exec(
            conn,
            "INSERT OR REPLACE INTO claims (id, fingerprint, token, done, lease_until, result, expires_at)
             VALUES (?1, ?2, ?3, 0, ?4, NULL, ?4)",
            params![waiting.claim, waiting.voicemail.identity, r.token, r.lease_until],
        )?;
    }
    if let Some(link) = r.link {
        put_link(conn, link)?;
    }
    Ok(Resumed::Started)
}

/// A page's query with only the filters it has, so that one on the status
/// or the destination reads its own index (schema.rs), not the whole range;
/// an absent filter's parameter is still bound (`?N IS NULL`).
fn page_sql(q: &MessageQuery<'_>) -> String {
    let filter =
        |on: bool, test: &str, n: u8| if on { format!(" AND {test} = ?{n}") } else { format!(" AND ?{n} IS NULL") };
    format!(
        "SELECT data, attempts FROM messages
          WHERE tenant = ?1 AND at BETWEEN ?2 AND ?3 AND (?4 IS NULL OR at < ?4 OR (at = ?4 AND id < ?5)){}{}{}
          ORDER BY at DESC, id DESC LIMIT ?9",
        filter(q.status.is_some(), "data ->> '$.status'", 6),
        filter(q.from.is_some(), "data ->> '$.from'", 7),
        filter(q.to.is_some(), "data ->> '$.to'", 8),
    )
}

/// SQLite has no TTL: what expired goes as new work ends (indexed).
fn purge(conn: &Connection, now: i64) -> Result<(), StoreError> {
    for sql in [
        "DELETE FROM messages WHERE expires_at <= ?1",
        "DELETE FROM claims WHERE expires_at <= ?1",
        "DELETE FROM rates WHERE expires_at <= ?1",
        "DELETE FROM links WHERE expires_at <= ?1",
        "DELETE FROM waits WHERE expires_at <= ?1",
        "DELETE FROM sessions WHERE expires_at <= ?1",
        "DELETE FROM sign_ins WHERE expires_at <= ?1",
        "DELETE FROM daily WHERE count <= 0 AND day <= ?1",
    ] {
        exec(conn, sql, [now])?;
    }
    Ok(())
}

fn receive(conn: &Connection, receipt: &Receipt) -> Result<Received, StoreError> {
    let found: Option<(String, u32)> = conn
        .prepare_cached("SELECT data, attempts FROM messages WHERE provider_id = ?1")
        .and_then(|mut stmt| stmt.query_row([&receipt.provider_id], |r| Ok((r.get(0)?, r.get(1)?))))
        .optional()
        .map_err(err)?;
    let Some((data, attempts)) = found else {
        return Ok(Received::Unknown);
    };
    let record = MessageRecord { attempts, ..from_json(&data)? };
    let Some(next) = record.with_receipt(receipt) else {
        return Ok(Received::Repeated);
    };
    // Only over what was read: a receipt that raced in first wins.
    let changed = exec(
        conn,
        "UPDATE messages SET data = ?2 WHERE id = ?1 AND data = ?3",
        params![record.id, to_json(&next)?, data],
    )?;
    Ok(if changed == 1 { Received::Applied(next) } else { Received::Repeated })
}

/// Who holds a live claim, if anyone: finished, or pending within its lease.
fn held(conn: &Connection, id: &str, now: i64) -> Result<Option<Held>, StoreError> {
    let row = conn
        .query_row(
            "SELECT fingerprint, done, lease_until, result FROM claims WHERE id = ?1 AND expires_at > ?2",
            params![id, now],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?, r.get::<_, i64>(2)?, r.get::<_, Option<String>>(3)?)),
        )
        .optional()
        .map_err(err)?;
    Ok(match row {
        Some((fingerprint, true, _, result)) => Some(Held::Done { fingerprint, result: result.unwrap_or_default() }),
        Some((fingerprint, false, lease_until, _)) if lease_until > now => {
            Some(Held::Pending { fingerprint, lease_until })
        }
        _ => None,
    })
}

/// Counts one SMS in both windows of the budget, or names the full window
/// (the minute first) and counts nothing.
fn take_rate(
    conn: &Connection,
    tenant: &TenantId,
    budget: MessageKind,
    limits: RateLimits,
    now: i64,
) -> Result<Option<Window>, StoreError> {
    let windows = [Window::Minute, Window::Day];
    for window in windows {
        let count: i64 = conn
            .prepare_cached("SELECT count FROM rates WHERE tenant = ?1 AND budget = ?2 AND window = ?3 AND bucket = ?4")
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![tenant.as_str(), budget.as_str(), window.to_string(), now / window.seconds()],
                    |r| r.get(0),
                )
            })
            .optional()
            .map_err(err)?
            .unwrap_or(0);
        if count >= i64::from(limits.of(window)) {
            return Ok(Some(window));
        }
    }
    for window in windows {
        let bucket = now / window.seconds();
        exec(
            conn,
            "INSERT INTO rates (tenant, budget, window, bucket, count, expires_at) VALUES (?1, ?2, ?3, ?4, 1, ?5)
             ON CONFLICT (tenant, budget, window, bucket) DO UPDATE SET count = count + 1",
            params![tenant.as_str(), budget.as_str(), window.to_string(), bucket, (bucket + 1) * window.seconds()],
        )?;
    }
    Ok(None)
}

/// Writes a log entry, counting `attempt` more send attempts.
fn put_message(conn: &Connection, record: &MessageRecord, keep_secs: i64, attempt: i64) -> Result<(), StoreError> {
    exec(
        conn,
        "INSERT INTO messages (id, tenant, at, data, expires_at, provider_id, attempts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (id) DO UPDATE SET tenant = ?2, at = ?3, data = ?4, expires_at = ?5, provider_id = ?6,
                                         attempts = attempts + ?7",
        params![
            record.id,
            record.tenant.as_str(),
            record.at,
            to_json(record)?,
            record.at + keep_secs,
            record.provider_id,
            attempt
        ],
    )
    .map(drop)
}
