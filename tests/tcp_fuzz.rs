//! Robustness: random segments (plausible and absurd sequence numbers, any flags, options, payload
//! sizes), application calls and timer expiries thrown at a stack must never panic (debug builds
//! check arithmetic overflow), and every socket must eventually be freed once the application
//! lets go of everything.

use netlab::sim::{Duration, Instant, SimRng};
use netlab::tcp::{SocketId, TcpConfig, TcpEventKind, TcpStack};
use netlab::wire::{TcpFlags, TcpOptions, TcpRepr};
use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddrV4};

const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn pick(rng: &mut SimRng, seen: &[u32]) -> u32 {
    match rng.below(4) {
        0 => rng.next_u32(),
        1 if !seen.is_empty() => seen[rng.below(seen.len() as u64) as usize].wrapping_add(rng.below(2) as u32),
        _ if !seen.is_empty() => {
            let base = seen[rng.below(seen.len() as u64) as usize];
            base.wrapping_add(rng.below(4000) as u32).wrapping_sub(2000)
        }
        _ => rng.next_u32(),
    }
}

fn one_run(seed: u64) -> BTreeSet<String> {
    let mut rng = SimRng::for_component(seed, "fuzz");
    let cfg = TcpConfig {
        sack: rng.chance(0.5),
        timestamps: rng.chance(0.5),
        window_scaling: rng.chance(0.5),
        delayed_ack: rng.chance(0.5),
        nagle: rng.chance(0.5),
        send_buffer: 1 + rng.below(20_000) as usize,
        recv_buffer: 1 + rng.below(20_000) as usize,
        keepalive: rng.chance(0.3).then(|| Duration::from_secs(5)),
        max_retransmissions: 3,
        ..TcpConfig::default()
    };
    let mut st = TcpStack::new(seed, cfg);
    let mut now = Instant::ZERO;
    let listener = st.listen(now, SocketAddrV4::new(US, 80), 2, None).unwrap();
    let mut socks: Vec<SocketId> = Vec::new();
    if let Ok(c) = st.connect(now, SocketAddrV4::new(US, 0), SocketAddrV4::new(PEER, 5000), None) {
        socks.push(c);
    }
    // Sequence numbers we have seen from the stack, to aim near them.
    let mut seen: Vec<u32> = Vec::new();
    let mut ports: Vec<u16> = vec![80];
    let mut buf = vec![0u8; 4096];
    let mut reached = BTreeSet::new();
    // (end of our last segment, its ACK, our port): a well-behaved peer would answer with these.
    let mut coherent: Option<(u32, u32, u16)> = None;
    let payload = vec![0xabu8; 3000];
    for _ in 0..300 {
        now += Duration::from_millis(rng.below(300));
        match rng.below(10) {
            0..=5 => {
                let flags = TcpFlags(rng.below(256) as u8 & 0x3f);
                let mut options = TcpOptions::default();
                if rng.chance(0.3) {
                    options.mss = Some(rng.below(3000) as u16);
                    options.window_scale = Some(rng.below(20) as u8);
                    options.sack_permitted = rng.chance(0.5);
                }
                if rng.chance(0.5) {
                    options.timestamps = Some((rng.next_u32(), rng.next_u32()));
                }
                if rng.chance(0.3) {
                    for b in options.sack_blocks.iter_mut().take(rng.below(5) as usize) {
                        let l = pick(&mut rng, &seen);
                        *b = Some((l, l.wrapping_add(rng.below(5000) as u32)));
                    }
                }
                let len = match rng.below(3) {
                    0 => 0,
                    1 => rng.below(100) as usize,
                    _ => rng.below(3000) as usize,
                };
                let src_port = if rng.chance(0.8) { 5000 } else { 1000 + rng.below(3) as u16 };
                let dst_port = ports[rng.below(ports.len() as u64) as usize];
                let (mut seq, mut ack) = (pick(&mut rng, &seen), pick(&mut rng, &seen));
                let (mut src_port, mut dst_port) = (src_port, dst_port);
                if let Some((end, their_ack, port)) = coherent
                    && rng.chance(0.4)
                {
                    seq = their_ack;
                    ack = end;
                    src_port = 5000;
                    dst_port = port;
                    options.timestamps = None;
                }
                let seg = TcpRepr {
                    src_port,
                    dst_port,
                    seq,
                    ack,
                    flags,
                    window: rng.below(65536) as u16,
                    urgent: 0,
                    options,
                    payload: &payload[..len],
                };
                st.on_segment(now, PEER, US, &seg);
            }
            6 => {
                if let Some(&s) = socks.get(rng.below(socks.len().max(1) as u64) as usize) {
                    match rng.below(6) {
                        0 => {
                            let _ = st.send(now, s, &payload[..rng.below(3000) as usize]);
                        }
                        1 => {
                            let _ = st.recv(now, s, &mut buf);
                        }
                        2 => {
                            let _ = st.shutdown_write(now, s);
                        }
                        3 => {
                            let _ = st.close(now, s);
                        }
                        4 => {
                            let _ = st.abort(now, s);
                        }
                        _ => {
                            let _ = st.connect_result(s);
                        }
                    }
                }
            }
            7 => {
                if let Ok(Some(s)) = st.accept(now, listener) {
                    socks.push(s);
                }
            }
            _ => {
                if let Some(t) = st.poll_timeout() {
                    now = now.max(t);
                    st.handle_timeout(now);
                }
            }
        }
        st.poll_transmit(now, &mut |_, _, r| {
            if !r.flags.rst() && r.dst_port == 5000 {
                coherent = Some((r.seq.wrapping_add(r.segment_len() as u32), r.ack, r.src_port));
            }
            seen.push(r.seq);
            seen.push(r.ack);
            if !ports.contains(&r.src_port) {
                ports.push(r.src_port);
            }
        });
        if seen.len() > 64 {
            seen.drain(..32);
        }
        st.drain_events(&mut |e| {
            if let TcpEventKind::StateChange { to, .. } = e.kind {
                reached.insert(format!("{to:?}"));
            }
        });
    }
    // Let go of everything; all sockets must be freed within a few minutes of simulated time.
    let _ = st.close(now, listener);
    for s in socks {
        let _ = st.close(now, s);
    }
    let end = now + Duration::from_secs(600);
    while let Some(t) = st.poll_timeout() {
        if t > end {
            break;
        }
        now = now.max(t);
        st.handle_timeout(now);
        st.poll_transmit(now, &mut |_, _, _| {});
        st.drain_events(&mut |_| {});
    }
    assert_eq!(st.open_sockets(), 0, "seed {seed}: sockets left open");
    reached
}

#[test]
fn random_segments_never_panic_and_nothing_leaks() {
    let mut reached = BTreeSet::new();
    for seed in 0..400 {
        reached.extend(one_run(seed));
    }
    // The random walk does get connections through the state machine.
    for s in ["SynReceived", "Established", "FinWait1", "CloseWait", "Closed"] {
        assert!(reached.contains(s), "{s} never reached: {reached:?}");
    }
    eprintln!("states reached: {reached:?}");
}
