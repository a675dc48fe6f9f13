//! The conformance-test server behaviours of `app::lab_servers`, each driven by a small client on a
//! two-host network, with the bytes checked end to end where data flows.

use netlab::app::lab_servers::{self, CloseAction, CloseWhen};
use netlab::scenario::{BuildOptions, Scenario};
use netlab::sim::{Duration, Instant};
use netlab::tcp::TcpError;
use netlab::world::{AppReport, Host, RunLimits, World};
use std::net::SocketAddrV4;

const NET: &str = r#"
[simulation]
description = "two hosts"
[[hosts]]
name = "client"
[[hosts]]
name = "server"
[[links]]
name = "l1"
a = { node = "client", ip = "10.0.0.1/24" }
b = { node = "server", ip = "10.0.0.2/24" }
delay = "5ms"
rate = "100Mbps"
"#;

const PORT: u16 = 7000;

fn server_addr() -> SocketAddrV4 {
    SocketAddrV4::new([10, 0, 0, 2].into(), PORT)
}

fn world() -> World {
    Scenario::parse("t.toml", NET, "t").unwrap().build(&BuildOptions::default(), None).unwrap()
}

/// Runs `server` (a daemon) and `client` for up to `secs` simulated seconds; the apps' reports.
fn run<S, SF, C, CF>(secs: u64, server: S, client: C) -> Vec<AppReport>
where
    S: FnOnce(Host) -> SF,
    SF: Future<Output = Result<(), String>> + 'static,
    C: FnOnce(Host) -> CF,
    CF: Future<Output = Result<(), String>> + 'static,
{
    let mut w = world();
    let (c, s) = (w.node("client").unwrap(), w.node("server").unwrap());
    w.spawn_app("server", "lab", s, true, Instant::ZERO, server);
    w.spawn_app("client", "test", c, false, Instant::from_nanos(10_000_000), client);
    w.run_with(RunLimits {
        stop_at: Instant::ZERO + Duration::from_secs(secs),
        stop_when_apps_done: true,
        ..Default::default()
    });
    w.apps()
}

fn client_error(reports: &[AppReport]) -> Option<String> {
    reports[1].error.clone()
}

fn pattern(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn raw_echo_returns_every_byte_unchanged() {
    let r = run(
        10,
        |ctx| lab_servers::raw_echo_server(ctx, PORT, 4),
        |ctx| async move {
            let s = ctx.connect(server_addr(), None).await.map_err(|e| e.to_string())?;
            let sent = pattern(100_000);
            s.write_all(&sent).await.map_err(|e| e.to_string())?;
            s.shutdown().map_err(|e| e.to_string())?;
            let mut got = Vec::new();
            s.read_to_end_with(|b| got.extend_from_slice(b)).await.map_err(|e| e.to_string())?;
            if got != sent {
                return Err(format!("echo differs: {} bytes back", got.len()));
            }
            s.close().map_err(|e| e.to_string())
        },
    );
    assert_eq!(client_error(&r), None);
    assert!(r[1].finished);
    assert_eq!(r[0].metrics["bytes_echoed"], 100_000.0);
}

#[test]
fn a_sink_server_never_reads_so_the_writer_blocks() {
    let r = run(
        5,
        |ctx| lab_servers::sink_server(ctx, PORT, 4),
        |ctx| async move {
            let s = ctx.connect(server_addr(), None).await.map_err(|e| e.to_string())?;
            // 256 KiB send buffer + 256 KiB receive buffer at most: 4 MB can never all be taken.
            let deadline = ctx.now() + Duration::from_secs(3);
            match ctx.timeout_at(deadline, s.write_all(&pattern(4_000_000))).await {
                Some(_) => Err("the write finished: the server read".into()),
                None => Ok(()),
            }
        },
    );
    assert_eq!(client_error(&r), None);
    assert_eq!(r[0].metrics["accepted"], 1.0);
}

#[test]
fn a_slow_reader_takes_chunk_bytes_per_interval() {
    let r = run(
        30,
        |ctx| lab_servers::slow_reader(ctx, PORT, 4, 1000, Duration::from_millis(100)),
        |ctx| async move {
            let s = ctx.connect(server_addr(), None).await.map_err(|e| e.to_string())?;
            s.write_all(&pattern(20_000)).await.map_err(|e| e.to_string())?;
            s.shutdown().map_err(|e| e.to_string())?;
            s.read_to_end_with(|_| {}).await.map_err(|e| e.to_string())?;
            Ok(())
        },
    );
    assert_eq!(client_error(&r), None);
    assert_eq!(r[0].metrics["bytes_read"], 20_000.0);
    // 20 reads of 1000 bytes, one per 100 ms: about 2 s after the connection started.
    let done = r[1].finished_at.unwrap().as_secs_f64();
    assert!((2.0..2.5).contains(&done), "{done}");
}

/// A client that writes `n` bytes (ignoring failures) and reports how its reads ended.
async fn writer_then_read(ctx: Host, n: usize) -> Result<(), String> {
    let s = ctx.connect(server_addr(), None).await.map_err(|e| e.to_string())?;
    let _ = s.write_all(&pattern(n)).await;
    let mut buf = [0u8; 100];
    let end = loop {
        match s.read(&mut buf).await {
            Ok(0) => break "eof".to_string(),
            Ok(_) => continue,
            Err(e) => break format!("{e}"),
        }
    };
    ctx.print(format!("read ended: {end}"));
    let _ = s.close();
    Ok(())
}

#[test]
fn a_closing_server_aborts_after_n_bytes_with_a_reset() {
    let r = run(
        10,
        |ctx| lab_servers::closing_server(ctx, PORT, 4, CloseAction::Abort, CloseWhen::AfterBytes(5000)),
        |ctx| writer_then_read(ctx, 5000),
    );
    assert_eq!(client_error(&r), None);
    assert_eq!(r[1].output.last().unwrap(), &format!("read ended: {}", TcpError::ConnectionReset));
    assert!(r[0].output.iter().any(|l| l == "Abort after reading 5000 bytes"), "{:?}", r[0].output);
}

#[test]
fn a_closing_server_closes_at_a_given_time_with_a_fin() {
    let r = run(
        10,
        |ctx| lab_servers::closing_server(ctx, PORT, 4, CloseAction::Close, CloseWhen::After(Duration::from_secs(1))),
        |ctx| writer_then_read(ctx, 3000),
    );
    assert_eq!(client_error(&r), None);
    assert_eq!(r[1].output.last().unwrap(), "read ended: eof");
    assert!(r[0].output.iter().any(|l| l == "Close after reading 3000 bytes"), "{:?}", r[0].output);
    // The FIN came about a second after the accept, not at once.
    assert!(r[1].finished_at.unwrap().as_secs_f64() > 1.0);
}

#[test]
fn a_half_closing_server_still_reads_after_its_fin() {
    let r = run(
        10,
        |ctx| lab_servers::closing_server(ctx, PORT, 4, CloseAction::HalfClose, CloseWhen::AfterBytes(1000)),
        |ctx| async move {
            let s = ctx.connect(server_addr(), None).await.map_err(|e| e.to_string())?;
            s.write_all(&pattern(1000)).await.map_err(|e| e.to_string())?;
            let mut buf = [0u8; 10];
            let n = s.read(&mut buf).await.map_err(|e| e.to_string())?;
            if n != 0 {
                return Err("expected the server's FIN".into());
            }
            // Half-closed: the server still takes our data.
            s.write_all(&pattern(2000)).await.map_err(|e| e.to_string())?;
            s.close().map_err(|e| e.to_string())?;
            // Stay until the server has read it all (the run ends when the client does).
            ctx.sleep(Duration::from_secs(1)).await;
            Ok(())
        },
    );
    assert_eq!(client_error(&r), None);
    assert!(r[0].output.iter().any(|l| l == "peer finished after 2000 more bytes"), "{:?}", r[0].output);
}

#[test]
fn the_syn_sent_closer_closes_before_any_answer() {
    // Nobody listens on port 9 and the RST takes 10 ms to come back; closing after 1 ms is in SYN-SENT.
    let mut w = world();
    let c = w.node("client").unwrap();
    let to = SocketAddrV4::new([10, 0, 0, 2].into(), 9);
    w.spawn_app("closer", "syn-sent-closer", c, false, Instant::ZERO, move |ctx| {
        lab_servers::syn_sent_closer(ctx, to, Duration::from_millis(1))
    });
    w.run_with(RunLimits {
        stop_at: Instant::ZERO + Duration::from_secs(1),
        stop_when_apps_done: true,
        ..Default::default()
    });
    let apps = w.apps();
    assert_eq!(apps[0].error, None);
    assert_eq!(apps[0].output.last().unwrap(), "closing in Some(SynSent)");
}
