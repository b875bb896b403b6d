//! A stand-in for the Lambda Runtime API on a loopback port (hyper, on a
//! thread and runtime of its own: the binaries bring their own tokio): it
//! hands out one queued event per `GET .../invocation/next` (a long poll,
//! as Lambda's) and reports what the function answered.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::sync::{Mutex, mpsc as queue, oneshot};

/// What the function told the Runtime API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `POST /runtime/invocation/{id}/response`
    Response { request_id: String, body: Vec<u8> },
    /// `POST /runtime/invocation/{id}/error`
    Error { request_id: String, error_type: Option<String>, body: Vec<u8> },
    /// `POST /runtime/init/error`
    InitError { error_type: Option<String>, body: Vec<u8> },
    /// Anything else the runtime asked for (a test failure).
    Unexpected { method: String, path: String },
}

impl Outcome {
    /// The response's JSON; panics (with what came instead) otherwise.
    pub fn response_json(&self) -> serde_json::Value {
        match self {
            Outcome::Response { body, .. } => serde_json::from_slice(body)
                .unwrap_or_else(|e| panic!("response is not JSON ({e}): {}", String::from_utf8_lossy(body))),
            other => panic!("expected a response, got {}", other.describe()),
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Outcome::Response { body, .. } => format!("response {}", String::from_utf8_lossy(body)),
            Outcome::Error { error_type, body, .. } => {
                format!("invocation error {error_type:?} {}", String::from_utf8_lossy(body))
            }
            Outcome::InitError { error_type, body } => {
                format!("init error {error_type:?} {}", String::from_utf8_lossy(body))
            }
            Outcome::Unexpected { method, path } => format!("unexpected request {method} {path}"),
        }
    }
}

struct Invocation {
    request_id: String,
    body: Vec<u8>,
}

struct Shared {
    /// Events waiting for `GET .../invocation/next` (one at a time: the
    /// runtime asks for the next only after answering the previous).
    events: Mutex<queue::UnboundedReceiver<Invocation>>,
    outcomes: Sender<Outcome>,
    function_arn: String,
    /// How many times the runtime asked for an event: > 0 means init is over.
    next_calls: AtomicUsize,
    /// When the runtime first asked: the end of Lambda's init phase.
    first_next: OnceLock<Instant>,
}

/// The Lambda Runtime API stand-in: an HTTP/1.1 server on 127.0.0.1.
pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    events: Option<queue::UnboundedSender<Invocation>>,
    outcomes: Receiver<Outcome>,
    stop: Option<oneshot::Sender<()>>,
    invocations: usize,
}

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const INVOCATION: &str = "/2018-06-01/runtime/invocation/";
const INIT_ERROR: &str = "/2018-06-01/runtime/init/error";

impl RuntimeApi {
    pub fn start(function_name: &str) -> RuntimeApi {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("a bound address");
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let (events_tx, events_rx) = queue::unbounded_channel();
        let (outcomes_tx, outcomes_rx) = mpsc::channel();
        let shared = Arc::new(Shared {
            events: Mutex::new(events_rx),
            outcomes: outcomes_tx,
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
            next_calls: AtomicUsize::new(0),
            first_next: OnceLock::new(),
        });
        let (stop, stopped) = oneshot::channel();
        let server = shared.clone();
        thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
            runtime.block_on(serve(listener, server, stopped));
        });
        RuntimeApi { addr, shared, events: Some(events_tx), outcomes: outcomes_rx, stop: Some(stop), invocations: 0 }
    }

    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    pub fn next_calls(&self) -> usize {
        self.shared.next_calls.load(Ordering::SeqCst)
    }

    /// When the runtime first asked for an event, if it has.
    pub fn first_next(&self) -> Option<Instant> {
        self.shared.first_next.get().copied()
    }

    /// What the function told the API next, if it does within `wait`.
    pub fn outcome_within(&self, wait: Duration) -> Result<Outcome, RecvTimeoutError> {
        self.outcomes.recv_timeout(wait)
    }

    /// Queues one event; its request id.
    pub fn push(&mut self, body: &[u8]) -> String {
        self.invocations += 1;
        let request_id = format!("00000000-0000-4000-8000-{:012x}", self.invocations);
        let invocation = Invocation { request_id: request_id.clone(), body: body.to_vec() };
        self.events.as_ref().expect("runtime API stopped").send(invocation).expect("runtime API stopped");
        request_id
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        // Closing the event queue ends a pending long poll; the server stops.
        self.events = None;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Accepts connections until stopped, each served on a task of its own.
async fn serve(listener: std::net::TcpListener, shared: Arc<Shared>, mut stopped: oneshot::Receiver<()>) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = &mut stopped => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(answer(&shared, req).await) }
            });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

fn reply(status: StatusCode, headers: &[(&str, String)], body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut response = Response::builder().status(status).header("content-type", "application/json");
    for (name, value) in headers {
        response = response.header(*name, value);
    }
    response.body(Full::new(Bytes::from(body))).expect("a valid response")
}

/// One request of the runtime: the next event (a long poll), or what it
/// reports, recorded.
async fn answer(shared: &Shared, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    if method == Method::GET && path == NEXT {
        return next(shared).await;
    }
    let error_type =
        req.headers().get("lambda-runtime-function-error-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let body = req.into_body().collect().await.map(|b| b.to_bytes().to_vec()).unwrap_or_default();
    let invocation = path.strip_prefix(INVOCATION).and_then(|rest| rest.split_once('/'));
    let outcome = match (method == Method::POST, path.as_str(), invocation) {
        (true, INIT_ERROR, _) => Outcome::InitError { error_type, body },
        (true, _, Some((id, "response"))) => Outcome::Response { request_id: id.to_owned(), body },
        (true, _, Some((id, "error"))) => Outcome::Error { request_id: id.to_owned(), error_type, body },
        _ => Outcome::Unexpected { method: method.to_string(), path },
    };
    let status =
        if matches!(outcome, Outcome::Unexpected { .. }) { StatusCode::NOT_FOUND } else { StatusCode::ACCEPTED };
    let _ = shared.outcomes.send(outcome);
    reply(status, &[], br#"{"status":"OK"}"#.to_vec())
}

/// The next event, with Lambda's invocation headers; when the queue closes
/// (the test is over), a 410 the runtime never sees.
async fn next(shared: &Shared) -> Response<Full<Bytes>> {
    shared.first_next.get_or_init(Instant::now);
    shared.next_calls.fetch_add(1, Ordering::SeqCst);
    let Some(event) = shared.events.lock().await.recv().await else {
        return reply(StatusCode::GONE, &[], Vec::new());
    };
    let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + Duration::from_secs(30);
    let headers = [
        ("Lambda-Runtime-Aws-Request-Id", event.request_id),
        ("Lambda-Runtime-Deadline-Ms", deadline.as_millis().to_string()),
        ("Lambda-Runtime-Invoked-Function-Arn", shared.function_arn.clone()),
        (
            "Lambda-Runtime-Trace-Id",
            "Root=1-6745a000-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0".to_owned(),
        ),
    ];
    reply(StatusCode::OK, &headers, event.body)
}

/// An HTTP function's answer: API Gateway's v2 response (status, headers and
/// the body as a string), with the body parsed as JSON.
#[derive(Debug, Clone)]
pub struct HttpAnswer {
    pub status: u16,
    pub headers: serde_json::Value,
    pub body: serde_json::Value,
}

impl HttpAnswer {
    pub fn of(outcome: &Outcome) -> HttpAnswer {
        let v = outcome.response_json();
        let status = v["statusCode"].as_u64().unwrap_or_else(|| panic!("no statusCode: {v}")) as u16;
        assert_eq!(v["isBase64Encoded"], false, "a JSON answer is text: {v}");
        let text = v["body"].as_str().unwrap_or_else(|| panic!("body is not a string: {v}"));
        let body = serde_json::from_str(text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"));
        // Payload 2.0 answers with `headers`; 1.0 (a REST API) with
        // `multiValueHeaders`, one list per name.
        let mut headers = v["headers"].as_object().cloned().unwrap_or_default();
        for (name, values) in v["multiValueHeaders"].as_object().into_iter().flatten() {
            if let Some(first) = values.get(0) {
                headers.entry(name.to_ascii_lowercase()).or_insert_with(|| first.clone());
            }
        }
        HttpAnswer { status, headers: serde_json::Value::Object(headers), body }
    }
}
