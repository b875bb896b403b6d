//! `serve`: one local HTTP server routed like API Gateway, through the
//! routing table the functions share, with the SQLite store and an outbox
//! that prints each SMS; optionally a folder that stands in for the
//! voicemail bucket.

mod audio;
mod demo;
mod guard;
mod http;
mod watch;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use shared::adapters::outbox::OutboxGateway;
use shared::service::Service;
use tokio::net::TcpListener;

use crate::fail::{Fail, Result};
use crate::output::say;
use crate::target::Target;

#[derive(Args)]
pub struct ServeArgs {
    /// Where to listen, on loopback (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// Apply the built-in demo configuration first and print curl examples.
    #[arg(long)]
    demo: bool,
    /// Send voicemail SMS for audio files dropped here, laid out like the
    /// bucket: DIR/voicemail/<tenant>/<extension>/<file>.
    #[arg(long, value_name = "DIR")]
    watch: Option<PathBuf>,
    /// Close a connection that sends nothing, or not a whole request, for
    /// this long (slow clients cannot hold connections).
    #[arg(long, value_name = "SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600))]
    idle_timeout: u64,
    /// Serve at most this many connections at once; more wait until one
    /// closes.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = clap::value_parser!(u16).range(1..))]
    max_connections: u16,
}

pub async fn run(target: &Target, args: ServeArgs) -> Result {
    // A development server holding a demo key has no business on a network.
    if !args.addr.ip().is_loopback() {
        return Err(Fail::usage(format!(
            "--addr {}: the local server listens on loopback only (127.0.0.1 or [::1])",
            args.addr
        )));
    }
    let settings = target.local("serve")?;
    // Files already there are not new: only what is dropped from now on is.
    let watcher = args.watch.map(watch::Watcher::start).transpose()?;
    let listener =
        TcpListener::bind(args.addr).await.map_err(|e| Fail::new(format!("cannot listen on {}: {e}", args.addr)))?;
    let addr = listener.local_addr().map_err(|e| Fail::new(e.to_string()))?;
    // Recording links point here, at the watched folder's files.
    let recordings = watcher.as_ref().map(|w| (w.dir().to_path_buf(), format!("http://{addr}/r/")));
    let local = settings.local(recordings).await?;
    let demo = demo::prepare(local.store.as_ref(), args.demo).await?;
    let service = Arc::new(local.service);
    if let Some(demo) = &demo {
        demo.print(addr);
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let watching = watcher.map(|w| {
        say!("watching {} for voicemails ({}<tenant>/<extension>/<file>)", w.dir().display(), settings.layout.prefix);
        tokio::spawn(w.run(service.clone(), settings.layout.clone(), stopped))
    });
    let limits =
        http::Limits { idle: Duration::from_secs(args.idle_timeout), connections: usize::from(args.max_connections) };
    let clients = http::Clients::default();
    let receipts = tokio::spawn(pump_receipts(service.clone(), local.outbox, clients.clone(), stop.subscribe()));
    let scheduled = tokio::spawn(send_due(service.clone(), stop.subscribe()));
    say!("listening on http://{addr} (Ctrl-C stops)");

    http::serve(listener, service, guard::Guard::new(addr), limits, clients, shutdown_signal()).await;
    // The watcher finishes the voicemail at hand, if any, before it stops.
    let _ = stop.send(true);
    let _ = receipts.await;
    let _ = scheduled.await;
    if let Some(task) = watching
        && let Err(e) = task.await
    {
        tracing::error!(error = %e, "the folder watcher stopped abnormally");
    }
    demo::finish(local.store.as_ref(), demo.is_some()).await?;
    say!("stopped");
    Ok(())
}

/// Chunks of receipts applied a second while clients are connected (1,000
/// receipts): under load they compete with the sends for the SQLite thread
/// and the cores, and receipts may wait (SNS's take seconds too) where
/// sends may not. With no client connected the backlog goes at once.
const BUSY_CHUNKS: usize = 10;

/// Every second, the outbox's delivery receipts through the delivery-status
/// function, as CloudWatch Logs would hand it SNS's; all that is left at
/// the stop.
async fn pump_receipts(
    service: Arc<Service>,
    outbox: Arc<OutboxGateway>,
    clients: http::Clients,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let stopping = tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => false,
            _ = stop.changed() => true,
        };
        let chunks = if clients.connected() && !stopping { BUSY_CHUNKS } else { usize::MAX };
        if let Err(e) = crate::receipts::deliver(&service, &outbox, chunks).await {
            tracing::error!(error = %e.message, "delivery receipts failed; kept for the next round");
        }
        if stopping {
            return;
        }
    }
}

/// Every second, the scheduled sender's run (on AWS, every minute): the
/// voicemails whose wait for a transcript is over.
async fn send_due(service: Arc<Service>, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
        match shared::inbound::trigger::send_due(&service, None).await {
            Ok(run) if run.sent + run.skipped + run.failed > 0 => {
                say!("[scheduled] {}", serde_json::to_string(&run).unwrap_or_default());
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "the scheduled sender could not read what is due"),
        }
    }
}

/// Ctrl-C, or SIGTERM (a supervisor's stop).
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
