//! A symmetric peer for simultaneous open and simultaneous close: it connects from a fixed local port
//! to the other peer's fixed port (both do so at the same time, so their SYNs cross), sends a message,
//! half-closes at once (so the FINs cross too), and reads the other side's message to the end.

use crate::world::Host;
use std::net::SocketAddrV4;

/// Connects from `local_port` to `to`, sends `bytes` bytes, half-closes, reads the other side to the
/// end, and reports the metrics `bytes_received` and `correct` (1 when what it read equals what it
/// sent: both peers send the same pattern).
pub async fn peer(ctx: Host, local_port: u16, to: SocketAddrV4, bytes: usize) -> Result<(), String> {
    let s = ctx.connect_from(local_port, to, None).await.map_err(|e| format!("connect to {to}: {e}"))?;
    ctx.print(format!("connected {local_port} -> {to}"));
    let msg: Vec<u8> = (0..bytes).map(|i| b'a' + (i % 26) as u8).collect();
    s.write_all(&msg).await.map_err(|e| e.to_string())?;
    // Half-close at once (both peers do, so the FINs cross), then read the other side to the end.
    s.shutdown().map_err(|e| e.to_string())?;
    let mut got = Vec::new();
    s.read_to_end_with(|c| got.extend_from_slice(c)).await.map_err(|e| e.to_string())?;
    s.close().map_err(|e| e.to_string())?;
    ctx.print(format!("received {} bytes", got.len()));
    ctx.metric("bytes_received", got.len() as f64);
    ctx.metric("correct", if got == msg { 1.0 } else { 0.0 });
    Ok(())
}
