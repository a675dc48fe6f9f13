//! A tiny HTTP/1.1 server serving generated content, and the "webget" client of CS144 checkpoint 0.
//!
//! Paths: `/` and `/hello` return a short greeting; `/bytes/N` returns N bytes of content generated
//! from the server's seeded stream; anything else is 404.

use super::hex;
use crate::world::Host;
use sha2::{Digest, Sha256};
use std::net::SocketAddrV4;

/// Serves HTTP/1.1 on `port`, one task per connection, until the run ends.
pub async fn server(ctx: Host, port: u16) -> Result<(), String> {
    let l = ctx.listen(port, 16, None).map_err(|e| format!("listen on {port}: {e}"))?;
    ctx.print(format!("http server listening on port {port}"));
    loop {
        let s = l.accept().await.map_err(|e| e.to_string())?;
        let c = ctx.clone();
        ctx.spawn(async move {
            let mut req = Vec::new();
            let mut buf = [0u8; 2048];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 16 * 1024 {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let text = String::from_utf8_lossy(&req);
            let first = text.lines().next().unwrap_or("").to_string();
            let path = first.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (status, body): (&str, Vec<u8>) = if path == "/" || path == "/hello" {
                ("200 OK", b"Hello from netlab!\n".to_vec())
            } else if let Some(n) = path.strip_prefix("/bytes/").and_then(|n| n.parse::<usize>().ok()).filter(|n| *n <= 1 << 30) {
                let mut body = vec![0u8; n];
                c.rng(&format!("body:{n}")).fill_bytes(&mut body);
                ("200 OK", body)
            } else {
                ("404 Not Found", b"not found\n".to_vec())
            };
            c.print(format!("{first} -> {status} ({} bytes)", body.len()));
            let head = format!("HTTP/1.1 {status}\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            if s.write_all(head.as_bytes()).await.is_ok() {
                let _ = s.write_all(&body).await;
            }
            let _ = s.close();
        });
    }
}

/// Fetches `path` from `to` and prints the response (the body in full when it is short text).
pub async fn webget(ctx: Host, to: SocketAddrV4, host: String, path: String) -> Result<(), String> {
    let start = ctx.now();
    let s = ctx.connect(to, None).await.map_err(|e| format!("connect to {to}: {e}"))?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.map_err(|e| e.to_string())?;
    let mut resp = Vec::new();
    s.read_to_end_with(|c| resp.extend_from_slice(c)).await.map_err(|e| e.to_string())?;
    let _ = s.close();
    let split = resp.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4).unwrap_or(resp.len());
    let (head, body) = resp.split_at(split);
    let head = String::from_utf8_lossy(head);
    for line in head.lines().filter(|l| !l.is_empty()) {
        ctx.print(line.to_string());
    }
    let status: f64 = head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0.0);
    if body.len() <= 256 && body.iter().all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace()) {
        for line in String::from_utf8_lossy(body).lines() {
            ctx.print(line.to_string());
        }
    }
    let sha = hex(&Sha256::digest(body));
    ctx.print(format!("body: {} bytes, sha256 {sha}", body.len()));
    let secs = (ctx.now() - start).as_secs_f64();
    ctx.metric("status", status);
    ctx.metric("body_bytes", body.len() as f64);
    ctx.metric("duration_s", secs);
    if let Some(expected) =
        head.lines().find_map(|l| l.strip_prefix("Content-Length: ")).and_then(|v| v.trim().parse::<usize>().ok())
    {
        ctx.metric("complete", if expected == body.len() { 1.0 } else { 0.0 });
    }
    Ok(())
}
