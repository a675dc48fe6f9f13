//! Bulk transfers across a bridge, where sender and sink live in different processes: the sender
//! (`kind = "bulk"` with `to` outside the scenario) and the sink (`kind = "bulk-sink"`) each report the
//! SHA-256 of what they sent or received. Given the sending app's name (`expect_from`) and the same
//! seed, the sink regenerates the sender's content and checks the hash itself.

use crate::app::bulk::Content;
use crate::app::hex;
use crate::sim::SimRng;
use crate::world::Host;
use sha2::{Digest, Sha256};
use std::net::SocketAddrV4;

/// SHA-256 of the first `bytes` bytes of bulk app `app`'s content under `seed`.
pub fn content_sha256(seed: u64, app: &str, bytes: u64) -> String {
    Content::new(crate::app::bulk::content_rng(seed, app), bytes).sha256()
}

/// The body the http-server app `app` serves for `/bytes/N` under `seed`.
pub fn http_body(seed: u64, app: &str, n: usize) -> Vec<u8> {
    let mut body = vec![0u8; n];
    SimRng::for_component(seed, &format!("app:{app}:body:{n}")).fill_bytes(&mut body);
    body
}

/// Sends `bytes` bytes of the app's content to `to`, half-closes, waits for the receiver to close,
/// then closes.
pub async fn remote_sender(ctx: Host, to: SocketAddrV4, bytes: u64) -> Result<(), String> {
    let start = ctx.now();
    let mut content = Content::new(ctx.rng("data"), bytes);
    let s = ctx.connect(to, None).await.map_err(|e| format!("connect to {to}: {e}"))?;
    let mut h = Sha256::new();
    loop {
        let block = content.next_block();
        if block.is_empty() {
            break;
        }
        h.update(block);
        s.write_all(block).await.map_err(|e| format!("send: {e}"))?;
    }
    s.finish().await.map_err(|e| format!("waiting for the receiver to close: {e}"))?;
    let secs = (ctx.now() - start).as_secs_f64();
    let sha = hex(&h.finalize());
    ctx.print(format!("sent {bytes} bytes, sha256 {sha}"));
    let goodput = if secs > 0.0 { bytes as f64 * 8.0 / secs } else { 0.0 };
    ctx.print(format!("duration {secs:.6} s, goodput {:.3} Mbit/s", goodput / 1e6));
    ctx.metric("bytes_sent", bytes as f64);
    ctx.metric("duration_s", secs);
    ctx.metric("goodput_mbps", goodput / 1e6);
    Ok(())
}

/// Accepts one connection on `port`, reads it to the end and reports what it got.
pub async fn sink(ctx: Host, port: u16, bytes: Option<u64>, expect_from: Option<String>) -> Result<(), String> {
    let l = ctx.listen(port, 4, None).map_err(|e| format!("listen on {port}: {e}"))?;
    ctx.print(format!("bulk sink listening on port {port}"));
    let s = l.accept().await.map_err(|e| e.to_string())?;
    let _ = l.close();
    let start = ctx.now();
    let mut h = Sha256::new();
    let n = s.read_to_end_with(|c| h.update(c)).await.map_err(|e| format!("receive: {e}"))?;
    let _ = s.close();
    let sha = hex(&h.finalize());
    let secs = (ctx.now() - start).as_secs_f64();
    ctx.print(format!("received {n} bytes, sha256 {sha}"));
    ctx.metric("bytes_received", n as f64);
    ctx.metric("duration_s", secs);
    ctx.metric("goodput_mbps", if secs > 0.0 { n as f64 * 8.0 / secs / 1e6 } else { 0.0 });
    if let Some(want) = bytes
        && want != n
    {
        return Err(format!("expected {want} bytes, received {n}"));
    }
    if let Some(app) = expect_from {
        let expected = content_sha256(ctx.seed(), &app, bytes.unwrap_or(n));
        let ok = expected == sha;
        ctx.print(format!("expected sha256 {expected} (content of {app}): {}", if ok { "match" } else { "MISMATCH" }));
        ctx.metric("sha256_match", if ok { 1.0 } else { 0.0 });
        if !ok {
            return Err(format!("data mismatch: received {n} bytes that differ from what {app} sends"));
        }
    }
    Ok(())
}
