//! One SQLite connection per file, owned by a thread of its own: the store
//! and the outbox on that file send it their calls, and it runs whatever is
//! queued in one transaction (a group commit), each call in a savepoint of
//! its own. So one writer in the process (no two connections making each
//! other wait in SQLite's busy handler), no blocking call on the async
//! runtime's threads, and one commit for many sends under load. Other
//! processes (`smsctl outbox`, `smsctl apply` while `serve` runs) share the
//! file through WAL and the busy timeout.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::ports::StoreError;

/// The most calls one transaction takes: a bound on how long the write lock
/// is held at a time.
const MAX_BATCH: usize = 256;

/// How long a call waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Committed calls between two checkpoints (a few pages each).
const CHECKPOINT_EVERY: usize = 512;

/// WAL pages past which the writer finishes a checkpoint itself (64 MiB
/// of 4 KiB pages). Under steady writes the checkpointer never catches up
/// with the last commit, and SQLite starts the WAL over only once all of it
/// is checkpointed: without this the WAL grew by gigabytes in a benchmark,
/// every write extended the file, and the first checkpoints after the load
/// stalled the calls behind them.
const WAL_RESTART_PAGES: i64 = 16_384;

/// What a WAL file is cut back to when it starts over (bytes): room for
/// [`WAL_RESTART_PAGES`] and what comes in while they are checkpointed, so
/// the file is reused rather than regrown, yet bounded after an anomaly.
const WAL_KEEP_BYTES: i64 = 2 * WAL_RESTART_PAGES * 4096;

/// Statements kept prepared: every statement the store and the outbox run
/// (rusqlite keeps 16 by default, fewer than a send uses).
const STATEMENTS: usize = 64;

pub(crate) fn err(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

/// Opens a SQLite file shared safely between processes (WAL, busy timeout),
/// creating it readable by its owner only: SQLite gives the `-wal` and
/// `-shm` files the same mode.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let failed = |e: &dyn std::fmt::Display| StoreError(format!("open {}: {e}", path.display()));
    create_private(path).map_err(|e| failed(&e))?;
    let conn = Connection::open(path).map_err(|e| failed(&e))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
    conn.set_prepared_statement_cache_capacity(STATEMENTS);
    conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(err)?;
    Ok(conn)
}

/// Creates an empty file with mode 0600 where there is none; a file that
/// exists keeps its mode.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// A handle on a file's connection thread; clones share it. The thread ends
/// when the last handle goes, after the calls already sent.
#[derive(Clone)]
pub struct Db {
    jobs: mpsc::Sender<Box<dyn Job>>,
}

impl Db {
    /// Opens the file and starts its thread; `prepare` runs first, on the
    /// connection alone (the schema).
    pub fn open(
        path: &Path,
        prepare: impl FnOnce(&mut Connection) -> Result<(), StoreError>,
    ) -> Result<Db, StoreError> {
        let mut conn = open(path)?;
        prepare(&mut conn)?;
        // Checkpoints (and their fsync) on a thread of their own: run by a
        // commit, they would stall every call queued behind it for tens of
        // milliseconds. A passive checkpoint never blocks the writer.
        conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(err)?;
        conn.pragma_update(None, "journal_size_limit", WAL_KEEP_BYTES).map_err(err)?;
        let checkpoints = Checkpoints::start(open(path)?)?;
        let (jobs, queue) = mpsc::channel();
        spawn("sqlite", move || serve(conn, queue, checkpoints))?;
        Ok(Db { jobs })
    }

    /// Runs `work` in the connection's thread, inside a transaction with the
    /// calls queued with it; its writes are kept when it answers `Ok` and
    /// the transaction commits, and undone otherwise. Answers once
    /// committed: nothing is reported done that was not.
    pub async fn call<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Box::new(Call { work: Some(work), result: None, reply }))
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn spawn(name: &str, run: impl FnOnce() + Send + 'static) -> Result<(), StoreError> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(run)
        .map(drop)
        .map_err(|e| StoreError(format!("cannot start the {name} thread: {e}")))
}

/// The checkpointer thread, as the writer sees it.
struct Checkpoints {
    nudge: mpsc::SyncSender<()>,
    /// Set by the checkpointer when the WAL is long enough to start over.
    restart: Arc<AtomicBool>,
    /// Calls committed since the last nudge.
    since: usize,
}

impl Checkpoints {
    /// A thread that checkpoints the WAL when nudged; it ends with the
    /// writer.
    fn start(conn: Connection) -> Result<Checkpoints, StoreError> {
        let (nudge, nudges) = mpsc::sync_channel::<()>(1);
        let restart = Arc::new(AtomicBool::new(false));
        let wanted = restart.clone();
        spawn("sqlite-checkpoint", move || {
            while nudges.recv().is_ok() {
                if checkpoint(&conn).is_some_and(|pages| pages >= WAL_RESTART_PAGES) {
                    wanted.store(true, Ordering::Relaxed);
                }
            }
        })?;
        Ok(Checkpoints { nudge, restart, since: 0 })
    }

    /// After a commit: a nudge now and then; and when the WAL is long, the
    /// pages committed since the checkpointer's last pass checkpointed here,
    /// between batches, so that the next transaction starts the WAL over.
    /// The calls queued meanwhile wait (3-6 ms, a few times a second at
    /// 8,000 sends/s): the price of a WAL that does not grow for ever.
    fn committed(&mut self, conn: &Connection, calls: usize) {
        self.since += calls;
        if self.since >= CHECKPOINT_EVERY {
            self.since = 0;
            // One pending nudge is enough: a busy checkpointer is nudged later.
            let _ = self.nudge.try_send(());
        }
        if self.restart.swap(false, Ordering::Relaxed) {
            checkpoint(conn);
        }
    }
}

/// A passive checkpoint (it never waits for the writer); the pages in the
/// WAL, or None if it failed. One that meets another one under way does
/// nothing, and the next pass sees the WAL is still long.
fn checkpoint(conn: &Connection) -> Option<i64> {
    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1)) {
        Ok(pages) => Some(pages),
        Err(e) => {
            tracing::warn!(error = %e, "SQLite checkpoint failed; the next one retries");
            None
        }
    }
}

fn stopped() -> StoreError {
    StoreError("the SQLite thread stopped".to_owned())
}

/// A queued call, type-erased for the queue.
trait Job: Send {
    /// Runs the call; whether its writes are kept.
    fn run(&mut self, conn: &Connection) -> bool;
    /// Answers the caller with the transaction's fate.
    fn answer(self: Box<Self>, committed: Result<(), &StoreError>);
}

struct Call<T, F> {
    work: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Job for Call<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, StoreError> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else { return false };
        // A call that panics is undone and answered; the thread goes on.
        let result = catch_unwind(AssertUnwindSafe(|| work(conn)))
            .unwrap_or_else(|_| Err(StoreError("a SQLite call panicked".to_owned())));
        let keep = result.is_ok();
        self.result = Some(result);
        keep
    }

    fn answer(self: Box<Self>, committed: Result<(), &StoreError>) {
        let result = match (committed, self.result) {
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(StoreError("a SQLite call was not run".to_owned())),
            (Err(e), _) => Err(e.clone()),
        };
        // A caller that went away needs no answer.
        let _ = self.reply.send(result);
    }
}

/// The connection's thread: what is queued, in batches.
fn serve(conn: Connection, queue: mpsc::Receiver<Box<dyn Job>>, mut checkpoints: Checkpoints) {
    while let Ok(first) = queue.recv() {
        let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(16);
        batch.push(first);
        let committed = run_batch(&conn, &queue, &mut batch);
        if let Err(e) = &committed {
            tracing::error!(error = %e, calls = batch.len(), "SQLite transaction failed");
            // Whatever state the failure left, no transaction stays open.
            let _ = conn.execute_batch("ROLLBACK");
        }
        let calls = batch.len();
        for job in batch {
            job.answer(committed.as_ref().map(|_| ()));
        }
        // Once the callers have their answers.
        if committed.is_ok() {
            checkpoints.committed(&conn, calls);
        }
    }
}

/// One transaction, each call in a savepoint: a call that fails undoes its
/// own writes only. Calls queued while it runs join it, up to
/// [`MAX_BATCH`]: one commit (a WAL frame per page it changed) for more
/// calls, without waiting for any.
fn run_batch(
    conn: &Connection,
    queue: &mpsc::Receiver<Box<dyn Job>>,
    batch: &mut Vec<Box<dyn Job>>,
) -> Result<(), StoreError> {
    let exec = |sql: &str| conn.prepare_cached(sql).and_then(|mut s| s.execute([])).map_err(err);
    exec("BEGIN IMMEDIATE")?;
    let mut ran = 0;
    loop {
        batch.extend(queue.try_iter().take(MAX_BATCH - batch.len()));
        if ran == batch.len() {
            return exec("COMMIT").map(drop);
        }
        for job in &mut batch[ran..] {
            exec("SAVEPOINT call")?;
            if !job.run(conn) {
                exec("ROLLBACK TO call")?;
            }
            exec("RELEASE call")?;
        }
        ran = batch.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("sms-db-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("t.db")
    }

    async fn count(db: &Db) -> i64 {
        db.call(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).map_err(err)).await.unwrap()
    }

    #[tokio::test]
    async fn a_failed_call_undoes_its_own_writes_only() {
        let db = Db::open(&temp("undo"), |c| c.execute_batch("CREATE TABLE t (v INTEGER UNIQUE)").map_err(err)).unwrap();
        let insert = |v: i64| {
            let db = db.clone();
            async move { db.call(move |c| c.execute("INSERT INTO t VALUES (?1)", [v]).map_err(err)).await }
        };
        // Queued together: one transaction, three savepoints.
        let (a, b, c) = tokio::join!(insert(1), insert(1), insert(2));
        assert_eq!((a.is_ok() as u8) + (b.is_ok() as u8), 1);
        assert!(c.is_ok());
        let half = db
            .call(|c| {
                c.execute("INSERT INTO t VALUES (3)", []).map_err(err)?;
                Err::<(), _>(StoreError("changed my mind".to_owned()))
            })
            .await;
        assert_eq!(half, Err(StoreError("changed my mind".to_owned())));
        assert_eq!(count(&db).await, 2);
        let panicked = db.call(|_| -> Result<(), StoreError> { panic!("boom") }).await;
        assert_eq!(panicked, Err(StoreError("a SQLite call panicked".to_owned())));
        assert_eq!(count(&db).await, 2, "the thread goes on after a panic");
    }
}
