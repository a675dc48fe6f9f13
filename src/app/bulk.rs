//! Bulk transfer: a sender writes N bytes of content from a seeded stream, a sink reads to the end.
//! Every transfer is checked end to end, in one of two ways:
//! - `Verify::Sha256` (the default): both sides compute SHA-256 and report it; they must match.
//! - `Verify::Compare`: the sink regenerates the sender's seeded stream and compares every byte, in
//!   order, as it arrives (stricter than comparing hashes, and cheap enough for benchmarks, where
//!   hashing 2 x 100 MB would cost more than the simulation itself).

use super::hex;
use crate::sim::{Duration, SimRng};
use crate::tcp::{ContentSource, SharedContent};
use crate::world::Host;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::net::SocketAddrV4;
use std::rc::Rc;
use std::sync::Arc;

/// How a transfer is checked end to end (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verify {
    /// Both sides hash what they sent and received; the hashes must match.
    Sha256,
    /// The sink regenerates the sender's content and compares every byte as it arrives.
    Compare,
}

/// The transfer's content: a seeded stream that the sender, its send buffer and a comparing sink
/// produce identically, at any offset and in pieces of any size.
///
/// Block `i` (16 KiB) is a random pattern, drawn once from the app's ChaCha stream, XORed with a
/// 64-bit key derived from the seed and `i` (SplitMix64). Every block therefore differs from every
/// other one, so data delivered at the wrong offset, even a whole number of blocks away, does not
/// match; and producing content costs one pass at memory speed instead of running ChaCha over every
/// byte (which was a fifth of the run time of a fast transfer).
///
/// It is a `ContentSource`: the sender queues it as a range (`TcpStream::write_content`), so its
/// send buffer holds no copy of it; sender and sink share one (`Arc`), 16 KiB per transfer.
pub struct SeededContent {
    pattern: Box<[u8]>,
    key_seed: u64,
}

const BLOCK: usize = 16 * 1024;

/// SplitMix64's output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl SeededContent {
    /// The stream drawn from `rng` (use [`content_rng`] so that both ends agree).
    pub fn new(mut rng: SimRng) -> SeededContent {
        let mut pattern = vec![0u8; BLOCK].into_boxed_slice();
        rng.fill_bytes(&mut pattern);
        SeededContent { pattern, key_seed: rng.next_u64() }
    }
}

impl SeededContent {
    /// Splits the stream's bytes [offset, offset + len) at block ends: for each piece, where it
    /// starts in the pattern, its length, and the key lined up with its first byte. Byte j of a
    /// block is pattern[j] ^ key byte (j mod 8); rotating the key lines its bytes up with a start
    /// that is not a multiple of 8.
    fn pieces(&self, mut offset: u64, mut len: usize) -> impl Iterator<Item = (usize, usize, u64)> + '_ {
        std::iter::from_fn(move || {
            if len == 0 {
                return None;
            }
            let block = offset / BLOCK as u64;
            let within = (offset % BLOCK as u64) as usize;
            let take = (BLOCK - within).min(len);
            let key = mix(self.key_seed.wrapping_add(block.wrapping_add(1).wrapping_mul(0x9e37_79b9_7f4a_7c15)));
            offset += take as u64;
            len -= take;
            Some((within, take, key.rotate_right(8 * (within % 8) as u32)))
        })
    }

    /// Whether `data` is exactly the stream's bytes [offset, offset + data.len()): compared as they
    /// are produced, without writing them anywhere.
    pub fn matches_at(&self, offset: u64, mut data: &[u8]) -> bool {
        for (within, take, k) in self.pieces(offset, data.len()) {
            let (got, rest) = data.split_at(take);
            if differs(got, &self.pattern[within..within + take], k) {
                return false;
            }
            data = rest;
        }
        true
    }
}

/// Whether `got` differs from `src` XORed with the key `k` (key byte j on every byte j mod 8). Four
/// words at a time into independent accumulators, which the compiler turns into vector code: this
/// runs over every byte a comparing sink receives.
fn differs(got: &[u8], src: &[u8], k: u64) -> bool {
    let word = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"));
    let mut acc = [0u64; 4];
    let (g32, s32) = (got.chunks_exact(32), src.chunks_exact(32));
    let done = got.len() - g32.remainder().len();
    for (g, s) in g32.zip(s32) {
        for (j, a) in acc.iter_mut().enumerate() {
            *a |= word(g, 8 * j) ^ word(s, 8 * j) ^ k;
        }
    }
    let kb = k.to_le_bytes();
    let tail = got[done..].iter().zip(&src[done..]).enumerate();
    let diff = tail.fold(acc[0] | acc[1] | acc[2] | acc[3], |d, (j, (g, s))| d | u64::from(g ^ s ^ kb[j % 8]));
    diff != 0
}

impl ContentSource for SeededContent {
    /// Writes the stream's bytes [offset, offset + out.len()) into `out`.
    fn fill_at(&self, offset: u64, mut out: &mut [u8]) {
        for (within, take, k) in self.pieces(offset, out.len()) {
            let (dst, rest) = std::mem::take(&mut out).split_at_mut(take);
            let src = &self.pattern[within..within + take];
            let mut d8 = dst.chunks_exact_mut(8);
            let mut s8 = src.chunks_exact(8);
            for (d, s) in (&mut d8).zip(&mut s8) {
                d.copy_from_slice(&(u64::from_le_bytes(s.try_into().expect("8 bytes")) ^ k).to_le_bytes());
            }
            let kb = k.to_le_bytes();
            for (j, (d, s)) in d8.into_remainder().iter_mut().zip(s8.remainder()).enumerate() {
                *d = s ^ kb[j];
            }
            out = rest;
        }
    }
}

/// A reader of the first `total` bytes of a [`SeededContent`]: produces them in order (`fill`,
/// `next_block`) or checks that data is them (`matches`).
pub struct Content {
    stream: Arc<SeededContent>,
    total: u64,
    /// Bytes produced (or compared) so far.
    pos: u64,
    scratch: Vec<u8>,
}

impl Content {
    /// `bytes` bytes of content drawn from `rng` (use [`content_rng`] so that both ends agree).
    pub fn new(rng: SimRng, bytes: u64) -> Content {
        Content::of(Arc::new(SeededContent::new(rng)), bytes)
    }
    /// The first `bytes` bytes of `stream`.
    pub fn of(stream: Arc<SeededContent>, bytes: u64) -> Content {
        Content { stream, total: bytes, pos: 0, scratch: Vec::new() }
    }
    /// The stream this reads.
    pub fn stream(&self) -> &Arc<SeededContent> {
        &self.stream
    }
    /// Bytes not produced yet.
    pub fn remaining(&self) -> u64 {
        self.total - self.pos
    }
    /// Fills `out` with the next `out.len()` bytes (at most `remaining()`).
    pub fn fill(&mut self, out: &mut [u8]) {
        debug_assert!(out.len() as u64 <= self.remaining());
        self.stream.fill_at(self.pos, out);
        self.pos += out.len() as u64;
    }
    /// The next block of at most 16 KiB (empty at the end).
    pub fn next_block(&mut self) -> &[u8] {
        let n = self.remaining().min(BLOCK as u64) as usize;
        let mut block = std::mem::take(&mut self.scratch);
        block.resize(n, 0);
        self.fill(&mut block);
        self.scratch = block;
        &self.scratch
    }
    /// True when `data` is exactly the next `data.len()` bytes of the stream.
    fn matches(&mut self, data: &[u8]) -> bool {
        if data.len() as u64 > self.remaining() {
            return false; // more data than was sent
        }
        // Compared as the bytes are produced: a thousand sinks need no buffers of their own.
        let equal = self.stream.matches_at(self.pos, data);
        self.pos += data.len() as u64;
        equal
    }
    fn exhausted(&self) -> bool {
        self.remaining() == 0
    }
    /// Lower-case hex SHA-256 of the bytes not produced yet (produced block by block).
    pub fn sha256(mut self) -> String {
        let mut h = Sha256::new();
        loop {
            let block = self.next_block();
            if block.is_empty() {
                break;
            }
            h.update(block);
        }
        hex(&h.finalize())
    }
}

/// The content stream of the bulk app named `app`.
pub fn content_rng(seed: u64, app: &str) -> SimRng {
    SimRng::for_component(seed, &format!("app:{app}:data"))
}

/// What the receiving side saw; shared with the sender's app, which reports both sides.
#[derive(Default, Debug)]
pub struct SinkResult {
    /// The sink has stopped reading (at the end of the stream or on an error).
    pub done: bool,
    /// Bytes read.
    pub bytes: u64,
    /// Sha256 mode: lower-case hex SHA-256 of what was read.
    pub sha256: String,
    /// Compare mode: every byte equal to the sender's stream, and all of it.
    pub compared_equal: bool,
    /// The error the connection failed with.
    pub error: Option<String>,
}

/// How a sink listens and reads.
pub struct SinkConfig {
    /// The port it listens on.
    pub port: u16,
    /// How it checks what it reads.
    pub verify: Verify,
    /// For `Verify::Compare`: the sender's stream and length.
    pub expected: Option<Content>,
    /// A slow reader pauses this long after each read of at most `read_chunk` bytes.
    pub read_pause: Option<Duration>,
    /// Largest read, in bytes, when `read_pause` is set.
    pub read_chunk: usize,
}

/// Accepts one connection and reads it to the end, verifying as configured.
pub async fn sink(ctx: Host, cfg: SinkConfig, result: Rc<RefCell<SinkResult>>) -> Result<(), String> {
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
        None => s.read_to_end_with(&mut take).await,
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

/// Connects to `to`, sends `content` (as a range: the send buffer holds no copy of it), closes, and
/// reports both sides once the sink has read everything and closed its end.
pub async fn sender(
    ctx: Host,
    to: SocketAddrV4,
    content: Content,
    verify: Verify,
    result: Rc<RefCell<SinkResult>>,
) -> Result<(), String> {
    let start = ctx.now();
    let bytes = content.remaining();
    let s = ctx.connect(to, None).await.map_err(|e| format!("connect to {to}: {e}"))?;
    let source: SharedContent = content.stream().clone();
    s.write_content(&source, 0, bytes).await.map_err(|e| format!("send: {e}"))?;
    // Sha256: the hash of what was queued, the stream itself produced once more.
    let sent_sha = (verify == Verify::Sha256).then(|| content.sha256());
    // Half-close, then wait for the peer's FIN: the transfer is over when the sink has read
    // everything and closed its end. Only then does the sender close (and enter TIME-WAIT).
    s.finish().await.map_err(|e| format!("waiting for the receiver to close: {e}"))?;
    let res = result.borrow();
    let secs = (ctx.now() - start).as_secs_f64();
    let goodput = if secs > 0.0 { res.bytes as f64 * 8.0 / secs } else { 0.0 };
    let ok = match verify {
        Verify::Sha256 => {
            let sent_sha = sent_sha.unwrap_or_default();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn content(bytes: u64) -> Content {
        Content::new(content_rng(42, "t"), bytes)
    }

    /// The stream one byte at a time, from its definition: byte j of block i is
    /// pattern[j] ^ (key i's byte j mod 8), key i = SplitMix64 output number i + 1.
    fn by_definition(c: &Content, len: usize) -> Vec<u8> {
        (0..len)
            .map(|o| {
                let (block, j) = ((o / BLOCK) as u64, o % BLOCK);
                let key = mix(c.stream.key_seed.wrapping_add((block + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)));
                c.stream.pattern[j] ^ key.to_le_bytes()[j % 8]
            })
            .collect()
    }

    #[test]
    fn any_write_sizes_give_the_same_stream() {
        let total = 3 * BLOCK + 1234;
        let whole = by_definition(&content(total as u64), total);
        // Odd piece sizes cross every 8-byte and 16 KiB boundary at unaligned offsets.
        for step in [1usize, 3, 7, 8, 1448, 5000, BLOCK - 1, BLOCK + 9] {
            let mut c = content(total as u64);
            let mut got = Vec::new();
            while c.remaining() > 0 {
                let mut piece = vec![0u8; step.min(c.remaining() as usize)];
                c.fill(&mut piece);
                got.extend_from_slice(&piece);
            }
            assert!(got == whole, "pieces of {step}");
            let mut sink = content(total as u64);
            assert!(whole.chunks(step).all(|p| sink.matches(p)) && sink.exhausted(), "sink, pieces of {step}");
        }
        // next_block gives the same bytes in 16 KiB blocks.
        let mut c = content(total as u64);
        let mut blocks = Vec::new();
        loop {
            let b = c.next_block();
            if b.is_empty() {
                break;
            }
            blocks.extend_from_slice(b);
        }
        assert!(blocks == whole);
    }

    #[test]
    fn misplaced_or_altered_data_does_not_match() {
        let total = 4 * BLOCK;
        let whole = by_definition(&content(total as u64), total);
        // A whole block delivered where another belongs: the per-block key tells them apart.
        let mut sink = content(total as u64);
        assert!(!sink.matches(&whole[BLOCK..2 * BLOCK]));
        // One flipped bit.
        let mut bad = whole.clone();
        bad[BLOCK + 77] ^= 0x10;
        let mut sink = content(total as u64);
        assert!(!sink.matches(&bad));
        // One flipped bit in a piece shorter than eight bytes, past an unaligned start.
        let mut sink = content(total as u64);
        assert!(sink.matches(&whole[..5]) && !sink.matches(&[whole[5], whole[6], whole[7] ^ 1]));
        // More than was sent.
        let mut sink = content(10);
        assert!(!sink.matches(&[0u8; 11]));
        // Different apps (or seeds) have different content.
        let other = by_definition(&Content::new(content_rng(42, "u"), 64), 64);
        assert_ne!(other, whole[..64]);
    }

    #[test]
    fn a_change_at_any_position_of_a_segment_is_caught() {
        let total = 2 * BLOCK;
        let c = content(total as u64);
        let whole = by_definition(&c, total);
        // Segments at unaligned offsets, one across a block end; each byte in turn altered (the
        // four-word body and the tail of the comparison both see every position).
        for (at, len) in [(3usize, 1448usize), (BLOCK - 700, 1448), (40, 61)] {
            let segment = &whole[at..at + len];
            assert!(c.stream.matches_at(at as u64, segment));
            for i in 0..len {
                let mut bad = segment.to_vec();
                bad[i] ^= 0x80;
                assert!(!c.stream.matches_at(at as u64, &bad), "segment at {at}: byte {i} altered");
            }
        }
    }
}
