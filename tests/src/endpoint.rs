//! A fake AWS endpoint on loopback: it accepts connections, reads each
//! HTTP request, and answers with the next scripted response, or never
//! answers at all once the script is out (a hung service). It keeps what it
//! was asked.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One request as received: its request line and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub line: String,
    pub body: String,
}

#[derive(Default)]
struct State {
    script: VecDeque<String>,
    received: Vec<Received>,
}

pub struct Endpoint {
    pub url: String,
    state: Arc<Mutex<State>>,
}

impl Endpoint {
    /// Answers these raw HTTP responses in turn, then hangs.
    pub async fn scripted(responses: Vec<String>) -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let state = Arc::new(Mutex::new(State { script: responses.into(), received: Vec::new() }));
        let shared = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, shared.clone()));
            }
        });
        Endpoint { url, state }
    }

    /// Accepts connections and never answers.
    pub async fn silent() -> Endpoint {
        Endpoint::scripted(Vec::new()).await
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut buf = Vec::new();
    loop {
        let Some(request) = read_request(&mut stream, &mut buf).await else {
            return;
        };
        let response = {
            let mut s = state.lock().unwrap();
            s.received.push(request);
            s.script.pop_front()
        };
        match response {
            Some(r) => {
                if stream.write_all(r.as_bytes()).await.is_err() {
                    return;
                }
            }
            // Hung: hold the connection, answer nothing, until the client goes.
            None => {
                let mut sink = [0u8; 1024];
                while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
                return;
            }
        }
    }
}

async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Received> {
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
        .unwrap_or(0);
    while buf.len() < head_end + length {
        let n = stream.read(&mut chunk).await.ok().filter(|n| *n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = String::from_utf8_lossy(&buf[head_end..head_end + length]).into_owned();
    buf.drain(..head_end + length);
    Some(Received { line: head.lines().next().unwrap_or_default().to_owned(), body })
}

/// An HTTP response with this status and XML body (SNS speaks XML).
pub fn xml(status: &str, body: &str) -> String {
    format!("HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}", body.len())
}

/// SNS's answer to a `Publish` it took.
pub fn sns_published(message_id: &str) -> String {
    xml(
        "200 OK",
        &format!(
            "<PublishResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><PublishResult><MessageId>{message_id}</MessageId></PublishResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></PublishResponse>"
        ),
    )
}

/// SNS's error answer.
pub fn sns_error(status: &str, code: &str, message: &str) -> String {
    xml(
        status,
        &format!(
            "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>r-2</RequestId></ErrorResponse>"
        ),
    )
}
