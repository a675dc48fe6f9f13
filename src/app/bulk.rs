//! Bulk transfer: a sender writes N bytes of content from a seeded stream, a sink reads to the end.
//! Every transfer is checked end to end, in one of two ways:
//! - `Verify::Sha256` (the default): both sides compute SHA-256 and report it; they must match.
//! - `Verify::Compare`: the sink regenerates the sender's seeded stream and compares every byte, in
//!   order, as it arrives (stricter than comparing hashes, and cheap enough for benchmarks, where
//!   hashing 2 x 100 MB would cost more than the simulation itself).

use super::{Ctx, hex};
use crate::sim::{Duration, SimRng};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::net::SocketAddrV4;
use std::rc::Rc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    Sha256,
    Compare,
}

/// The transfer's content: a seeded stream, produced in fixed 16 KiB blocks so that the sender and a
/// comparing sink generate exactly the same bytes whatever sizes they read and write.
///
/// Block `i` is a 16 KiB random pattern (drawn once from the app's ChaCha stream) XORed with a 64-bit
/// key drawn afresh for each block. Every block therefore differs from every other one, so data
/// delivered at the wrong offset, even a whole number of blocks away, does not match; and producing
/// a block costs one pass at memory speed instead of running ChaCha over every byte (which was a
/// fifth of the run time of a fast transfer).
pub struct Content {
    rng: SimRng,
    pattern: Box<[u8]>,
    left: u64,
    block: Vec<u8>,
    pos: usize,
}

const BLOCK: usize = 16 * 1024;

impl Content {
    pub fn new(mut rng: SimRng, bytes: u64) -> Content {
        let mut pattern = vec![0u8; BLOCK].into_boxed_slice();
        rng.fill_bytes(&mut pattern);
        Content { rng, pattern, left: bytes, block: Vec::with_capacity(BLOCK), pos: 0 }
    }
    /// The next block (empty at the end).
    pub fn next_block(&mut self) -> &[u8] {
        let n = self.left.min(BLOCK as u64) as usize;
        self.block.resize(BLOCK, 0);
        if n > 0 {
            let key = self.rng.next_u64();
            for (d, s) in self.block.chunks_exact_mut(8).zip(self.pattern.chunks_exact(8)) {
                let w = u64::from_le_bytes(s.try_into().expect("8 bytes")) ^ key;
                d.copy_from_slice(&w.to_le_bytes());
            }
        }
        self.block.truncate(n);
        self.left -= n as u64;
        self.pos = n;
        &self.block
    }
    /// True when `data` is exactly the next `data.len()` bytes of the stream.
    fn matches(&mut self, mut data: &[u8]) -> bool {
        while !data.is_empty() {
            if self.pos == self.block.len() {
                if self.left == 0 {
                    return false; // more data than was sent
                }
                self.next_block();
                self.pos = 0;
            }
            let n = (self.block.len() - self.pos).min(data.len());
            if self.block[self.pos..self.pos + n] != data[..n] {
                return false;
            }
            self.pos += n;
            data = &data[n..];
        }
        true
    }
    fn exhausted(&self) -> bool {
        self.left == 0 && self.pos == self.block.len()
    }
}

/// The content stream of the bulk app named `app`.
pub fn content_rng(seed: u64, app: &str) -> SimRng {
    SimRng::for_component(seed, &format!("app:{app}:data"))
}

/// What the receiving side saw; shared with the sender's app, which reports both sides.
#[derive(Default, Debug)]
pub struct SinkResult {
    pub done: bool,
    pub bytes: u64,
    pub sha256: String,
    /// Compare mode: every byte equal to the sender's stream, and all of it.
    pub compared_equal: bool,
    pub error: Option<String>,
}

pub struct SinkConfig {
    pub port: u16,
    pub verify: Verify,
    /// For `Verify::Compare`: the sender's stream and length.
    pub expected: Option<Content>,
    /// A slow reader pauses this long after each read of at most `read_chunk` bytes.
    pub read_pause: Option<Duration>,
    pub read_chunk: usize,
}

/// Accepts one connection and reads it to the end, verifying as configured.
pub async fn sink(ctx: Ctx, cfg: SinkConfig, result: Rc<RefCell<SinkResult>>) -> Result<(), String> {
    let SinkConfig { port, verify, mut expected, read_pause, read_chunk } = cfg;
    let l = ctx.listen(port, 4, None).map_err(|e| format!("listen on {port}: {e}"))?;
    let s = l.accept().await.map_err(|e| e.to_string())?;
    let accepted = ctx.now();
    let _ = l.close();
    let mut h = Sha256::new();
    let mut equal = true;
    let mut take = |chunk: &[u8]| match verify {
        Verify::Sha256 => h.update(chunk),
        Verify::Compare => equal &= expected.as_mut().is_some_and(|e| e.matches(chunk)),
    };
    let r = match read_pause {
        None => s.read_to_end(&mut take).await,
        Some(pause) => {
            let mut buf = vec![0u8; read_chunk.max(1)];
            let mut total = 0u64;
            loop {
                match s.read(&mut buf).await {
                    Ok(0) => break Ok(total),
                    Ok(n) => {
                        take(&buf[..n]);
                        total += n as u64;
                        ctx.sleep(pause).await;
                    }
                    Err(e) => break Err(e),
                }
            }
        }
    };
    let mut res = result.borrow_mut();
    res.done = true;
    match r {
        Ok(n) => {
            res.bytes = n;
            match verify {
                Verify::Sha256 => res.sha256 = hex(&h.finalize()),
                Verify::Compare => res.compared_equal = equal && expected.as_ref().is_some_and(|e| e.exhausted()),
            }
            let _ = s.close();
            // The receiving side's own report (the sender's app prints both sides).
            let secs = (ctx.now() - accepted).as_secs_f64();
            let goodput = if secs > 0.0 { n as f64 * 8.0 / secs / 1e6 } else { 0.0 };
            let check = match verify {
                Verify::Sha256 => format!("sha256 {}", res.sha256),
                Verify::Compare if res.compared_equal => "every byte equal to the sender's content".to_string(),
                Verify::Compare => "NOT EQUAL to the sender's content".to_string(),
            };
            ctx.print(format!("received {n} bytes in {secs:.6} s ({goodput:.3} Mbit/s), {check}"));
            ctx.metric("bytes_received", n as f64);
            ctx.metric("duration_s", secs);
            ctx.metric("goodput_mbps", goodput);
            Ok(())
        }
        Err(e) => {
            res.error = Some(e.to_string());
            // Give the socket back: a connection nobody holds answers stray segments with RST.
            let _ = s.close();
            Err(format!("receive: {e}"))
        }
    }
}

/// Connects to `to`, sends `bytes` bytes of the app's content stream, closes, and reports both sides
/// once the sink has read everything and closed its end.
pub async fn sender(
    ctx: Ctx,
    to: SocketAddrV4,
    bytes: u64,
    verify: Verify,
    result: Rc<RefCell<SinkResult>>,
) -> Result<(), String> {
    let start = ctx.now();
    let mut content = Content::new(ctx.rng("data"), bytes);
    let s = ctx.connect(to, None).await.map_err(|e| format!("connect to {to}: {e}"))?;
    let mut h = Sha256::new();
    loop {
        let block = content.next_block();
        if block.is_empty() {
            break;
        }
        if verify == Verify::Sha256 {
            h.update(block);
        }
        s.write_all(block).await.map_err(|e| format!("send: {e}"))?;
    }
    // Half-close, then wait for the peer's FIN: the transfer is over when the sink has read
    // everything and closed its end. Only then does the sender close (and enter TIME-WAIT).
    s.finish().await.map_err(|e| format!("waiting for the receiver to close: {e}"))?;
    let res = result.borrow();
    let secs = (ctx.now() - start).as_secs_f64();
    let goodput = if secs > 0.0 { res.bytes as f64 * 8.0 / secs } else { 0.0 };
    let ok = match verify {
        Verify::Sha256 => {
            let sent_sha = hex(&h.finalize());
            ctx.print(format!("sent {bytes} bytes, sha256 {sent_sha}"));
            ctx.print(format!("received {} bytes, sha256 {}", res.bytes, res.sha256));
            let ok = res.done && res.sha256 == sent_sha;
            ctx.metric("sha256_match", if ok { 1.0 } else { 0.0 });
            ok
        }
        Verify::Compare => {
            let ok = res.done && res.compared_equal;
            ctx.print(format!(
                "sent {bytes} bytes; received {} bytes, {}",
                res.bytes,
                if ok { "every byte equal to what was sent" } else { "NOT EQUAL to what was sent" }
            ));
            ok
        }
    };
    ctx.print(format!("duration {secs:.6} s, goodput {:.3} Mbit/s", goodput / 1e6));
    ctx.metric("bytes_sent", bytes as f64);
    ctx.metric("bytes_received", res.bytes as f64);
    ctx.metric("data_match", if ok { 1.0 } else { 0.0 });
    ctx.metric("duration_s", secs);
    ctx.metric("goodput_mbps", goodput / 1e6);
    if !ok {
        return Err(format!(
            "data mismatch: received {} of {bytes} bytes, and they differ from what was sent",
            res.bytes
        ));
    }
    Ok(())
}
