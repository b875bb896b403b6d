//! The local HTTP server: every route of the functions, through the routing
//! table they share (`shared::inbound::routes`).
//! Clients are bounded: how many connections, how long they may take to send
//! a request or stay idle, and which hosts and origins are answered.

use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Either, Full, LengthLimitError, Limited};
use hyper::body::{Body as _, Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use shared::inbound::api::{HttpRequest, MAX_REQUEST_BYTES, Payload, error_response};
use shared::inbound::routes::{self, Route};
use shared::service::Service;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_io_timeout::TimeoutStream;

use super::audio::AudioBody;
use super::guard::Guard;

/// An answer's body: JSON (or nothing), or a recording streamed.
pub type AnswerBody = Either<Full<Bytes>, AudioBody>;

/// How long requests under way may take to finish once asked to stop.
const GRACE: Duration = Duration::from_secs(10);

/// What one client may hold of the server.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A connection closes when it sends nothing for this long, or does not
    /// send a request's headers, or its body, within it (slowloris).
    pub idle: Duration,
    /// Connections open at once; further ones wait in the listen backlog
    /// until one closes.
    pub connections: usize,
}

/// The connections open now: work that can wait (delivery receipts) yields
/// to them.
#[derive(Clone, Default)]
pub struct Clients(Arc<AtomicUsize>);

impl Clients {
    pub fn connected(&self) -> bool {
        self.0.load(Ordering::Relaxed) > 0
    }

    fn join(&self) -> Connected {
        self.0.fetch_add(1, Ordering::Relaxed);
        Connected(self.0.clone())
    }
}

/// One open connection, counted until dropped.
struct Connected(Arc<AtomicUsize>);

impl Drop for Connected {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What each request is served with.
struct Context {
    service: Arc<Service>,
    guard: Guard,
    limits: Limits,
}

/// Serves until `shutdown`, then lets open requests finish; `clients`
/// counts the connections open.
pub async fn serve(
    listener: TcpListener,
    service: Arc<Service>,
    guard: Guard,
    limits: Limits,
    clients: Clients,
    shutdown: impl Future<Output = ()>,
) {
    let context = Arc::new(Context { service, guard, limits });
    let slots = Arc::new(Semaphore::new(limits.connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut http = http1::Builder::new();
    // The header-read timeout also runs while a kept-alive connection waits
    // for its next request: it is the idle timeout too.
    http.timer(TokioTimer::new()).header_read_timeout(limits.idle);
    loop {
        let (slot, accepted) = tokio::select! {
            next = async {
                let slot = slots.clone().acquire_owned().await;
                (slot, listener.accept().await)
            } => next,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slot else { break };
        match accepted {
            Ok((stream, peer)) => {
                spawn_connection(&http, &graceful, (stream, peer.ip()), &context, (slot, clients.join()));
            }
            Err(e) => {
                // Out of file descriptors and the like: pause rather than spin.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    drop(listener);
    if tokio::time::timeout(GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still open after {GRACE:?}; stopping anyway");
    }
}

/// Serves one connection on a task of its own; what it `holds` (its slot,
/// its place in the count) goes when it closes. A write that makes no
/// progress for the idle time (a client that stopped reading) ends it, and
/// frees what its answer held.
fn spawn_connection(
    http: &http1::Builder,
    graceful: &GracefulShutdown,
    (stream, peer): (TcpStream, IpAddr),
    context: &Arc<Context>,
    holds: impl Send + 'static,
) {
    let mut stream = TimeoutStream::new(stream);
    stream.set_write_timeout(Some(context.limits.idle));
    let io = TokioIo::new(Box::pin(stream));
    let connection = graceful.watch(http.serve_connection(io, handler(context.clone(), peer)));
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(error = %e, "connection ended with an error");
        }
        drop(holds);
    });
}

/// A connection's requests, each answered on a task of its own: a client
/// that hangs up does not cut a send short between the outbox and the
/// message log.
fn handler(
    context: Arc<Context>,
    peer: IpAddr,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<AnswerBody>,
    Error = Infallible,
    Future = impl Future<Output = Result<Response<AnswerBody>, Infallible>> + Send,
> + Clone
+ Send {
    service_fn(move |req| {
        let context = context.clone();
        async move {
            let response = tokio::spawn(async move { handle(&context, peer, req).await }).await;
            Ok::<_, Infallible>(response.unwrap_or_else(|e| {
                tracing::error!(error = %e, "handler panicked");
                internal_error()
            }))
        }
    })
}

async fn handle(context: &Context, peer: IpAddr, req: Request<Incoming>) -> Response<AnswerBody> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let response = match context.guard.check(req.uri(), req.headers()) {
        Some(refusal) => full(error_response(refusal.status, &refusal.error)),
        None => respond(context, peer, req).await,
    };
    // The path only: the query string may hold an API key. Debug: the
    // outbox prints every SMS already, and a line per request costs.
    tracing::debug!(%method, %path, status = response.status().as_u16(), "request");
    response
}

async fn respond(context: &Context, peer: IpAddr, req: Request<Incoming>) -> Response<AnswerBody> {
    if Route::of(req.uri().path()).is_none() {
        return full(shared::inbound::api::not_found());
    }
    // A declared length over the limit is refused unread; an undeclared one
    // (chunked) is read only up to the limit.
    if req.body().size_hint().lower() > MAX_REQUEST_BYTES as u64 {
        return too_large();
    }
    let (parts, body) = req.into_parts();
    let idle = context.limits.idle;
    let body = match tokio::time::timeout(idle, Limited::new(body, MAX_REQUEST_BYTES).collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<LengthLimitError>() => return too_large(),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "request body could not be read");
            return full(error_response(StatusCode::BAD_REQUEST, "Request body could not be read"));
        }
        Err(_) => {
            let text = format!("Request body was not received within {} s", idle.as_secs());
            return full(error_response(StatusCode::REQUEST_TIMEOUT, &text));
        }
    };
    let request = Request::from_parts(parts, body);
    let http = HttpRequest { source: Some(peer), ..HttpRequest::of(&request) };
    routes::respond::<routes::serving::Every>(&context.service, request.uri().path(), &http).await.map(|payload| {
        match payload {
            Payload::Text(text) => Either::Left(Full::new(Bytes::from(text))),
            Payload::Audio { file, len } => Either::Right(AudioBody::new(file, len)),
        }
    })
}

fn internal_error() -> Response<AnswerBody> {
    full(error_response(StatusCode::INTERNAL_SERVER_ERROR, "Internal error"))
}

fn too_large() -> Response<AnswerBody> {
    let text = shared::Error::BodyTooLarge(MAX_REQUEST_BYTES).to_string();
    full(error_response(StatusCode::PAYLOAD_TOO_LARGE, &text))
}

fn full(response: Response<String>) -> Response<AnswerBody> {
    response.map(|body| Either::Left(Full::new(Bytes::from(body))))
}
