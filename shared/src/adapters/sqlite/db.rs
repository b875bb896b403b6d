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

/// Pages a long WAL's checkpointer leaves to the writer: it makes passes
/// (each copies what came in during the one before, fewer each time) until
/// at most these remain, and the writer copies them between two batches.
/// The calls queued behind it wait for a few hundred pages, not thousands.
const WRITER_SHARE: i64 = 256;

/// Passes of that catching up at most (a writer faster than the disk would
/// keep it from ever ending).
const CATCH_UP_PASSES: usize = 8;

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
        Self::open_bounded(path, prepare, WAL_RESTART_PAGES)
    }

    /// As [`Db::open`], the WAL starting over past `restart_pages`; the
    /// file is cut back to room for twice that when it does, so it is
    /// reused rather than regrown, yet bounded after an anomaly.
    fn open_bounded(
        path: &Path,
        prepare: impl FnOnce(&mut Connection) -> Result<(), StoreError>,
        restart_pages: i64,
    ) -> Result<Db, StoreError> {
        let mut conn = open(path)?;
        prepare(&mut conn)?;
        // Checkpoints (and their fsync) on a thread of their own: run by a
        // commit, they would stall every call queued behind it for tens of
        // milliseconds. A passive checkpoint never blocks the writer.
        conn.pragma_update(None, "wal_autocheckpoint", 0).map_err(err)?;
        conn.pragma_update(None, "journal_size_limit", 2 * restart_pages * 4096).map_err(err)?;
        let checkpoints = Checkpoints::start(open(path)?, restart_pages)?;
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
        self.jobs.send(Box::new(Call { work: Some(work), result: None, reply })).map_err(|_| stopped())?;
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
    /// A thread that checkpoints the WAL when nudged; past `restart_pages`
    /// it catches up with the writer and asks it to start the WAL over. It
    /// ends with the writer.
    fn start(conn: Connection, restart_pages: i64) -> Result<Checkpoints, StoreError> {
        let (nudge, nudges) = mpsc::sync_channel::<()>(1);
        let restart = Arc::new(AtomicBool::new(false));
        let wanted = restart.clone();
        spawn("sqlite-checkpoint", move || {
            while nudges.recv().is_ok() {
                let Some(mut wal) = checkpoint(&conn) else { continue };
                if wal.log < restart_pages {
                    continue;
                }
                for _ in 0..CATCH_UP_PASSES {
                    if wal.log - wal.copied <= WRITER_SHARE {
                        break;
                    }
                    let Some(next) = checkpoint(&conn) else { break };
                    wal = next;
                }
                wanted.store(true, Ordering::Relaxed);
            }
        })?;
        Ok(Checkpoints { nudge, restart, since: 0 })
    }

    /// After a commit: a nudge now and then; and when the WAL is long, the
    /// pages committed since the checkpointer's last pass checkpointed here,
    /// between batches, so that the next transaction starts the WAL over.
    /// The calls queued meanwhile wait for at most about [`WRITER_SHARE`]
    /// pages: the price of a WAL that does not grow for ever.
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

/// The WAL after a checkpoint: its pages, and how many of them are copied
/// into the database.
struct Wal {
    log: i64,
    copied: i64,
}

/// A passive checkpoint (it never waits for the writer), or None if it
/// failed. One that meets another one under way does nothing, and the next
/// pass sees the WAL is still long.
fn checkpoint(conn: &Connection) -> Option<Wal> {
    match conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| Ok(Wal { log: r.get(1)?, copied: r.get(2)? })) {
        Ok(wal) => Some(wal),
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

    /// Writers that never pause leave the checkpointer always behind the
    /// last commit, and SQLite starts a WAL over only once all of it is
    /// copied: without the writer's own catch-up the WAL held everything
    /// written (36 MB for 26 MB of rows here); with it, it starts over near
    /// its bound.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_wal_starts_over_under_writes_that_never_pause() {
        const RESTART_PAGES: i64 = 64;
        let path = temp("wal");
        let schema = |c: &mut Connection| c.execute_batch("CREATE TABLE t (v BLOB)").map_err(err);
        let db = Db::open_bounded(&path, schema, RESTART_PAGES).unwrap();
        let writers: Vec<_> = (0..16)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move {
                    for _ in 0..800 {
                        db.call(|c| c.execute("INSERT INTO t VALUES (zeroblob(2000))", []).map_err(err)).await.unwrap();
                    }
                })
            })
            .collect();
        let wal = path.with_file_name("t.db-wal");
        let mut largest = 0;
        while !writers.iter().all(|w| w.is_finished()) {
            largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        assert_eq!(
            db.call(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)).map_err(err)).await,
            Ok(12_800)
        );
        // 64 pages, what came in while they were copied, and the writer's
        // share: about a megabyte, up to 15 seen when other tests load both
        // cores; without the catch-up it holds everything (36 MB).
        assert!(largest < 20 << 20, "the WAL reached {largest} bytes for 26 MB written");
    }

    #[tokio::test]
    async fn a_failed_call_undoes_its_own_writes_only() {
        let db =
            Db::open(&temp("undo"), |c| c.execute_batch("CREATE TABLE t (v INTEGER UNIQUE)").map_err(err)).unwrap();
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
