//! Bulk transfer: a sender writes N bytes of content from a seeded stream, a sink reads to the end.
//! Both report SHA-256, bytes, duration and goodput, so every transfer is checked end to end.

use super::{Ctx, hex};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::net::SocketAddrV4;
use std::rc::Rc;

/// What the receiving side saw; shared with the sender's app, which reports both sides.
#[derive(Default, Debug)]
pub struct SinkResult {
    pub done: bool,
    pub bytes: u64,
    pub sha256: String,
    pub error: Option<String>,
    pub first_byte_ns: u64,
    pub last_byte_ns: u64,
}

/// Accepts one connection on `port` and reads it to the end. A slow reader (`read_pause` set) reads
/// at most `read_chunk` bytes at a time and pauses between reads, so the sender meets a full window.
pub async fn sink(
    ctx: Ctx,
    port: u16,
    result: Rc<RefCell<SinkResult>>,
    read_pause: Option<crate::sim::Duration>,
    read_chunk: usize,
) -> Result<(), String> {
    let l = ctx.listen(port, 4, None).map_err(|e| format!("listen on {port}: {e}"))?;
    let s = l.accept().await.map_err(|e| e.to_string())?;
    let _ = l.close();
    let mut h = Sha256::new();
    let mut first = None;
    let r = match read_pause {
        None => {
            s.read_to_end(|chunk| {
                first.get_or_insert(ctx.now());
                h.update(chunk);
            })
            .await
        }
        Some(pause) => {
            let mut buf = vec![0u8; read_chunk.max(1)];
            let mut total = 0u64;
            loop {
                match s.read(&mut buf).await {
                    Ok(0) => break Ok(total),
                    Ok(n) => {
                        first.get_or_insert(ctx.now());
                        h.update(&buf[..n]);
                        total += n as u64;
                        ctx.sleep(pause).await;
                    }
                    Err(e) => break Err(e),
                }
            }
        }
    };
    let now = ctx.now();
    let mut res = result.borrow_mut();
    res.done = true;
    res.first_byte_ns = first.map_or(0, |t| t.as_nanos());
    res.last_byte_ns = now.as_nanos();
    match r {
        Ok(n) => {
            res.bytes = n;
            res.sha256 = hex(&h.finalize());
            let _ = s.close();
            Ok(())
        }
        Err(e) => {
            res.error = Some(e.to_string());
            Err(format!("receive: {e}"))
        }
    }
}

/// Connects to `to` and sends `bytes` bytes, then closes; reports both sides when the sink is done.
pub async fn sender(ctx: Ctx, to: SocketAddrV4, bytes: u64, result: Rc<RefCell<SinkResult>>) -> Result<(), String> {
    let start = ctx.now();
    let mut rng = ctx.rng("data");
    let s = ctx.connect(to, None).await.map_err(|e| format!("connect to {to}: {e}"))?;
    let mut h = Sha256::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        rng.fill_bytes(&mut chunk[..n]);
        h.update(&chunk[..n]);
        s.write_all(&chunk[..n]).await.map_err(|e| format!("send: {e}"))?;
        left -= n as u64;
    }
    s.close().map_err(|e| e.to_string())?;
    let sent_sha = hex(&h.finalize());
    // Wait for the peer's FIN: the transfer is over when the sink has read everything and closed.
    let mut rest = [0u8; 64];
    loop {
        match s.read(&mut rest).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => return Err(format!("waiting for the receiver to close: {e}")),
        }
    }
    let res = result.borrow();
    let secs = (ctx.now() - start).as_secs_f64();
    let goodput = if secs > 0.0 { res.bytes as f64 * 8.0 / secs } else { 0.0 };
    ctx.print(format!("sent {bytes} bytes, sha256 {sent_sha}"));
    ctx.print(format!("received {} bytes, sha256 {}", res.bytes, res.sha256));
    ctx.print(format!("duration {secs:.6} s, goodput {:.3} Mbit/s", goodput / 1e6));
    ctx.metric("bytes_sent", bytes as f64);
    ctx.metric("bytes_received", res.bytes as f64);
    ctx.metric("sha256_match", if res.done && res.sha256 == sent_sha { 1.0 } else { 0.0 });
    ctx.metric("duration_s", secs);
    ctx.metric("goodput_mbps", goodput / 1e6);
    if res.sha256 != sent_sha {
        return Err(format!("data mismatch: sent sha256 {sent_sha}, received {}", res.sha256));
    }
    Ok(())
}
