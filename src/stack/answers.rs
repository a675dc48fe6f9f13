//! Where an external stack's answers come from: its standard output, read either by the stepping
//! thread itself (waiting with poll(2): one thread wake-up per step, the cheapest; needs the
//! `live` feature's libc) or by a reader thread handing whole answers over a channel (portable).

use super::protocol;
use std::io::Read;
use std::process::ChildStdout;
#[cfg(not(feature = "live"))]
use std::sync::mpsc::{Receiver, RecvTimeoutError, sync_channel};
use std::time::Duration;

/// Whether a complete answer came (frames with their length prefixes, ending with DONE, FAIL or
/// READY), or why none will come.
pub(super) enum FromReader {
    /// An answer (its bytes are in the caller's buffer).
    Answer,
    /// The process closed its stdout (cleanly between messages: empty; or with the reason).
    Closed(String),
}

/// No answer came within the step timeout.
pub(super) struct TimedOut;

/// The process's answers.
pub(super) enum Answers {
    /// Read by a thread of their own.
    #[cfg(not(feature = "live"))]
    Thread(Receiver<Result<Vec<u8>, String>>),
    /// Read by the stepping thread.
    #[cfg(feature = "live")]
    Direct(Direct),
}

impl Answers {
    /// Starts reading `stdout` (a thread is only started without the `live` feature).
    pub(super) fn start(stdout: ChildStdout, host: &str) -> std::io::Result<Answers> {
        #[cfg(feature = "live")]
        {
            let _ = host;
            Ok(Answers::Direct(Direct { stdout, buf: Vec::with_capacity(64 * 1024), closed: None }))
        }
        #[cfg(not(feature = "live"))]
        {
            let (tx, rx) = sync_channel(1);
            std::thread::Builder::new().name(format!("stack-reader:{host}")).spawn(move || {
                let mut r = std::io::BufReader::with_capacity(64 * 1024, stdout);
                loop {
                    let msg = read_answer(&mut r);
                    let last = msg.is_err();
                    if tx.send(msg).is_err() || last {
                        return;
                    }
                }
            })?;
            Ok(Answers::Thread(rx))
        }
    }

    /// Bytes of an answer that came without being asked for, if any are already there.
    pub(super) fn unasked(&mut self) -> Option<usize> {
        match self {
            #[cfg(not(feature = "live"))]
            Answers::Thread(rx) => match rx.try_recv() {
                Ok(Ok(a)) => Some(a.len()),
                _ => None,
            },
            #[cfg(feature = "live")]
            Answers::Direct(d) => d.unasked(),
        }
    }

    /// The next answer, waiting at most `timeout`; an answer's bytes replace the contents of `into`.
    pub(super) fn next(&mut self, timeout: Duration, into: &mut Vec<u8>) -> Result<FromReader, TimedOut> {
        match self {
            #[cfg(not(feature = "live"))]
            Answers::Thread(rx) => match rx.recv_timeout(timeout) {
                Ok(Ok(a)) => {
                    *into = a;
                    Ok(FromReader::Answer)
                }
                Ok(Err(why)) => Ok(FromReader::Closed(why)),
                Err(RecvTimeoutError::Timeout) => Err(TimedOut),
                Err(RecvTimeoutError::Disconnected) => Ok(FromReader::Closed(String::new())),
            },
            #[cfg(feature = "live")]
            Answers::Direct(d) => d.next(timeout, into),
        }
    }
}

/// Reads one whole answer from `r` (the reader thread's loop); `Err` says why none will come
/// (empty: the stream ended cleanly between messages).
#[cfg(not(feature = "live"))]
fn read_answer(r: &mut impl Read) -> Result<Vec<u8>, String> {
    let mut answer = Vec::new();
    let mut frame = Vec::new();
    loop {
        match protocol::read_frame(r, &mut frame) {
            Ok(true) => {}
            Ok(false) => return Err(String::new()),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Err(String::new()),
            Err(e) => return Err(e.to_string()),
        }
        answer.extend_from_slice(&(frame.len() as u32).to_be_bytes());
        answer.extend_from_slice(&frame);
        if protocol::ends_answer(frame[0]) {
            return Ok(answer);
        }
    }
}

/// The stepping thread's own reader: bytes read so far, split into answers as they complete.
#[cfg(feature = "live")]
pub(super) struct Direct {
    stdout: ChildStdout,
    buf: Vec<u8>,
    /// Why the process's stdout ended, once it did.
    closed: Option<String>,
}

#[cfg(feature = "live")]
impl Direct {
    /// The length of the first complete answer in `buf`; `Err` if a frame is malformed.
    fn complete(&self) -> Result<Option<usize>, String> {
        let mut at = 0;
        while let Some(head) = self.buf.get(at..at + 4) {
            let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
            if len == 0 || len > protocol::MAX_MESSAGE {
                return Err(format!("a message length of {len}"));
            }
            let Some(ty) = self.buf.get(at + 4) else { return Ok(None) };
            if self.buf.len() < at + 4 + len {
                return Ok(None);
            }
            at += 4 + len;
            if protocol::ends_answer(*ty) {
                return Ok(Some(at));
            }
        }
        Ok(None)
    }

    /// Reads what is there now (after `wait` said so); false at end of stream.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 64 * 1024];
        match self.stdout.read(&mut chunk) {
            Ok(0) => {
                self.closed.get_or_insert_with(String::new);
                false
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => true,
            Err(e) => {
                self.closed.get_or_insert(e.to_string());
                false
            }
        }
    }

    fn unasked(&mut self) -> Option<usize> {
        while self.closed.is_none() && crate::sys::wait_readable(&self.stdout, Duration::ZERO).unwrap_or(false) {
            if !self.fill() {
                break;
            }
        }
        // As with the reader thread: only a whole answer counts; anything else is judged by `next`.
        self.complete().ok().flatten()
    }

    fn next(&mut self, timeout: Duration, into: &mut Vec<u8>) -> Result<FromReader, TimedOut> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match self.complete() {
                Ok(Some(n)) => {
                    into.clear();
                    into.extend_from_slice(&self.buf[..n]);
                    self.buf.drain(..n);
                    return Ok(FromReader::Answer);
                }
                Ok(None) => {}
                Err(why) => return Ok(FromReader::Closed(why)),
            }
            if let Some(why) = &self.closed {
                let why = if self.buf.is_empty() { why.clone() } else { format!("output ends inside a message{why}") };
                return Ok(FromReader::Closed(why));
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match crate::sys::wait_readable(&self.stdout, left) {
                Ok(true) => {
                    self.fill();
                }
                Ok(false) => return Err(TimedOut),
                Err(e) => self.closed = Some(e.to_string()),
            }
        }
    }
}
