//! Server (and one client) behaviours that conformance tests need (issue 12, item 4): a server that
//! accepts and never reads; one that reads N bytes every T; one that closes, half-closes or aborts
//! at a given time or after N bytes; a client that connects at a given time and closes while still
//! in SYN-SENT; and a byte-transparent echo server (no "server echoes: " prefix).
//!
//! Every server serves each accepted connection in its own task, so several clients can use it.

use crate::sim::Duration;
use crate::world::Host;
use crate::world::TcpStream;
use std::net::SocketAddrV4;

/// What a `closing_server` does to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseAction {
    /// close(): FIN after the queued data; unread data makes it a RST (RFC 2525).
    Close,
    /// shutdown(SHUT_WR): FIN, then go on reading until the peer's FIN, then close.
    HalfClose,
    /// SO_LINGER 0 and close(): a RST at once.
    Abort,
}

/// When a `closing_server` acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseWhen {
    /// This long after the connection was accepted.
    After(Duration),
    /// Once this many bytes have been read from the connection.
    AfterBytes(u64),
}

/// Accepts every connection and never reads from it: the peer's data fills the receive buffer and
/// the window closes. The connections stay open until the run ends.
pub async fn sink_server(ctx: Host, port: u16, backlog: usize) -> Result<(), String> {
    let l = ctx.listen(port, backlog, None).map_err(|e| format!("listen on {port}: {e}"))?;
    ctx.print(format!("sink server listening on port {port} (never reads)"));
    let mut held = Vec::new();
    loop {
        let s = l.accept().await.map_err(|e| e.to_string())?;
        held.push(s);
        ctx.metric("accepted", held.len() as f64);
    }
}

/// Reads at most `chunk` bytes from each connection every `every` (a slow reader), until the peer's
/// end of stream; then closes. Metric `bytes_read`: the total over all connections.
pub async fn slow_reader(ctx: Host, port: u16, backlog: usize, chunk: usize, every: Duration) -> Result<(), String> {
    if chunk == 0 || every.is_zero() {
        return Err("slow reader needs chunk > 0 and a non-zero interval".into());
    }
    let l = ctx.listen(port, backlog, None).map_err(|e| format!("listen on {port}: {e}"))?;
    ctx.print(format!("slow reader on port {port}: {chunk} bytes every {every}"));
    let total = std::rc::Rc::new(std::cell::Cell::new(0u64));
    loop {
        let s = l.accept().await.map_err(|e| e.to_string())?;
        let (c, total) = (ctx.clone(), total.clone());
        ctx.spawn(async move {
            let mut buf = vec![0u8; chunk];
            loop {
                c.sleep(every).await;
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        total.set(total.get() + n as u64);
                        c.metric("bytes_read", total.get() as f64);
                    }
                }
            }
            let _ = s.close();
        });
    }
}

/// Reads (and discards) what each connection sends and, `when` the condition holds, applies
/// `action` to it. Metric `actions`: how many connections it acted on.
pub async fn closing_server(
    ctx: Host,
    port: u16,
    backlog: usize,
    action: CloseAction,
    when: CloseWhen,
) -> Result<(), String> {
    let l = ctx.listen(port, backlog, None).map_err(|e| format!("listen on {port}: {e}"))?;
    ctx.print(format!("closing server on port {port}: {action:?} {when:?}"));
    let acted = std::rc::Rc::new(std::cell::Cell::new(0u64));
    loop {
        let s = l.accept().await.map_err(|e| e.to_string())?;
        let (c, acted) = (ctx.clone(), acted.clone());
        ctx.spawn(async move {
            let read = match when {
                CloseWhen::After(d) => read_until(&c, &s, c.now() + d).await,
                CloseWhen::AfterBytes(n) => read_bytes(&s, n).await,
            };
            c.print(format!("{action:?} after reading {read} bytes"));
            act(&c, &s, action).await;
            acted.set(acted.get() + 1);
            c.metric("actions", acted.get() as f64);
        });
    }
}

/// Reads and discards until `deadline` or the peer's end of stream; the bytes read.
async fn read_until(ctx: &Host, s: &TcpStream, deadline: crate::sim::Instant) -> u64 {
    let mut buf = [0u8; 4096];
    let mut total = 0u64;
    while let Some(Ok(n)) = ctx.timeout_at(deadline, s.read(&mut buf)).await {
        if n == 0 {
            break;
        }
        total += n as u64;
    }
    if ctx.now() < deadline {
        ctx.sleep_until(deadline).await;
    }
    total
}

/// Reads and discards `n` bytes (fewer if the stream ends first; `u64::MAX`: to the end); the
/// bytes read.
async fn read_bytes(s: &TcpStream, n: u64) -> u64 {
    let mut buf = [0u8; 4096];
    let mut total = 0u64;
    while total < n {
        let want = (n - total).min(buf.len() as u64) as usize;
        match s.read(&mut buf[..want]).await {
            Ok(0) | Err(_) => break,
            Ok(k) => total += k as u64,
        }
    }
    total
}

async fn act(ctx: &Host, s: &TcpStream, action: CloseAction) {
    match action {
        CloseAction::Close => {
            let _ = s.close();
        }
        CloseAction::Abort => {
            let _ = s.abort();
        }
        CloseAction::HalfClose => {
            let _ = s.shutdown();
            let rest = read_bytes(s, u64::MAX).await;
            ctx.print(format!("peer finished after {rest} more bytes"));
            let _ = s.close();
        }
    }
}

/// Starts a connection to `to` and closes it `close_after` later, while (if the peer has not
/// answered by then) it is still in SYN-SENT: RFC 9293 3.10.4 says nothing is sent. Prints the
/// state it closed in.
pub async fn syn_sent_closer(ctx: Host, to: SocketAddrV4, close_after: Duration) -> Result<(), String> {
    let stream = ctx.connect_start(to, None).map_err(|e| format!("connect to {to}: {e}"))?;
    ctx.sleep(close_after).await;
    let state = stream.state();
    ctx.print(format!("closing in {state:?}"));
    stream.close().map_err(|e| format!("close: {e}"))
}

/// Echoes every byte back unchanged (the lab's `echo-server` adds a prefix per line). Metric
/// `bytes_echoed`: the total over all connections. Closes a connection after the peer's FIN.
pub async fn raw_echo_server(ctx: Host, port: u16, backlog: usize) -> Result<(), String> {
    let l = ctx.listen(port, backlog, None).map_err(|e| format!("listen on {port}: {e}"))?;
    ctx.print(format!("byte echo server listening on port {port}"));
    let total = std::rc::Rc::new(std::cell::Cell::new(0u64));
    loop {
        let s = l.accept().await.map_err(|e| e.to_string())?;
        let (c, total) = (ctx.clone(), total.clone());
        ctx.spawn(async move {
            let mut buf = vec![0u8; 16 * 1024];
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        if s.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        total.set(total.get() + n as u64);
                        c.metric("bytes_echoed", total.get() as f64);
                    }
                }
            }
            let _ = s.close();
        });
    }
}
