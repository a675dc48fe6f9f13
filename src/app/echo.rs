//! The echo pair of the classic lab. The server answers every line with "server echoes: " followed by
//! the line; the client sends given lines, or the digits and letters rotated by 0, 1, 2, ...
//! positions, one line per interval, prints each reply, then closes. Lines end with '\n', so a reply never depends on how TCP
//! happened to split or merge the bytes.

use crate::sim::Duration;
use crate::world::Host;
use crate::world::TcpStream;
use std::net::SocketAddrV4;

/// What the client's lines are made of, rotated by one more position each line.
const ALPHABET: &str = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// What the server puts before each line it echoes.
const PREFIX: &str = "server echoes: ";

/// Reads one '\n'-terminated line (without the '\n'); `None` at end of stream.
async fn read_line(s: &TcpStream, pending: &mut Vec<u8>) -> Result<Option<String>, String> {
    loop {
        if let Some(i) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=i).collect();
            return Ok(Some(String::from_utf8_lossy(&line[..line.len() - 1]).into_owned()));
        }
        let mut buf = [0u8; 256];
        let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Ok(None);
        }
        pending.extend_from_slice(&buf[..n]);
    }
}

/// Serves every connection; after the client's end of stream it waits `close_delay` before closing
/// (so that the connection sits in CLOSE-WAIT for that long).
pub async fn server(ctx: Host, port: u16, backlog: usize, close_delay: Duration) -> Result<(), String> {
    let l = ctx.listen(port, backlog, None).map_err(|e| format!("listen on {port}: {e}"))?;
    ctx.print(format!("echo server listening on port {port}"));
    loop {
        let s = l.accept().await.map_err(|e| e.to_string())?;
        let c = ctx.clone();
        let mut served = 0u64;
        ctx.spawn(async move {
            let mut pending = Vec::new();
            while let Ok(Some(line)) = read_line(&s, &mut pending).await {
                let reply = format!("{PREFIX}{line}\n");
                if s.write_all(reply.as_bytes()).await.is_err() {
                    break;
                }
                served += 1;
            }
            if !close_delay.is_zero() {
                c.sleep(close_delay).await;
            }
            let _ = s.close();
            c.print(format!("connection closed after {served} messages"));
        });
    }
}

/// What the echo client sends: lines of its own, or `n` rotations of the alphabet.
#[derive(Debug, Clone)]
pub enum EchoLines {
    /// The digits and letters rotated by 0, 1, 2, ... positions, this many lines.
    Rotated(usize),
    /// These lines, in order (each without its '\n').
    Given(Vec<String>),
}

impl EchoLines {
    /// How many lines are sent.
    pub fn len(&self) -> usize {
        match self {
            EchoLines::Rotated(n) => *n,
            EchoLines::Given(l) => l.len(),
        }
    }

    /// Whether no line is sent.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `i`-th line.
    fn line(&self, i: usize) -> String {
        match self {
            EchoLines::Rotated(_) => {
                let k = i % ALPHABET.len();
                format!("{}{}", &ALPHABET[k..], &ALPHABET[..k])
            }
            EchoLines::Given(l) => l[i].clone(),
        }
    }
}

/// Connects to `to`, sends the lines `interval` apart, checks each reply, closes, and reports the
/// metrics `messages` and `correct_replies`.
pub async fn client(ctx: Host, to: SocketAddrV4, lines: EchoLines, interval: Duration) -> Result<(), String> {
    let s = ctx.connect(to, None).await.map_err(|e| format!("connect to {to}: {e}"))?;
    ctx.print(format!("connected to {to}"));
    let mut pending = Vec::new();
    let mut ok = 0;
    for i in 0..lines.len() {
        if i > 0 {
            ctx.sleep(interval).await;
        }
        let msg = lines.line(i);
        s.write_all(format!("{msg}\n").as_bytes()).await.map_err(|e| e.to_string())?;
        match read_line(&s, &mut pending).await? {
            Some(reply) => {
                ctx.print(reply.clone());
                if reply == format!("{PREFIX}{msg}") {
                    ok += 1;
                }
            }
            None => return Err("server closed the connection early".into()),
        }
    }
    s.shutdown().map_err(|e| e.to_string())?;
    // Wait for the server's FIN so the exchange ends cleanly, then close (-> TIME-WAIT).
    let mut rest = [0u8; 64];
    while s.read(&mut rest).await.map_err(|e| e.to_string())? > 0 {}
    s.close().map_err(|e| e.to_string())?;
    ctx.metric("messages", lines.len() as f64);
    ctx.metric("correct_replies", ok as f64);
    Ok(())
}
