//! A recording's audio, streamed from its file: read a chunk at a time as
//! the client takes it, never whole into memory. A client that stops
//! reading is cut off by the connection's write deadline (`http.rs`); one
//! that reads too slowly, by the answer's own deadline here.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_util::Stream;
use hyper::body::{Body, Bytes, Frame, SizeHint};
use tokio::io::AsyncReadExt;
use tokio::time::Instant;
use tokio_util::io::ReaderStream;

/// What one read takes from the file, and so what one answer holds in memory.
const CHUNK: usize = 64 * 1024;

/// How long a whole recording may take to send: 64 MiB (the largest
/// served) at 1 Mbit/s.
pub const ANSWER_DEADLINE: Duration = Duration::from_secs(600);

pub struct AudioBody {
    chunks: ReaderStream<tokio::io::Take<tokio::fs::File>>,
    len: u64,
    deadline: Instant,
}

impl AudioBody {
    pub fn new(file: std::fs::File, len: u64) -> AudioBody {
        let file = tokio::fs::File::from_std(file).take(len);
        AudioBody { chunks: ReaderStream::with_capacity(file, CHUNK), len, deadline: Instant::now() + ANSWER_DEADLINE }
    }
}

impl Body for AudioBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if Instant::now() > self.deadline {
            let late = format!("a recording was not taken within {} s", ANSWER_DEADLINE.as_secs());
            return Poll::Ready(Some(Err(std::io::Error::new(std::io::ErrorKind::TimedOut, late))));
        }
        let chunk = ready!(Pin::new(&mut self.chunks).poll_next(cx));
        Poll::Ready(chunk.map(|read| read.map(Frame::data)))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.len)
    }
}
