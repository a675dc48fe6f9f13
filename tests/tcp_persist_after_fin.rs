//! Found by the `tcp_segments` fuzz target: a persist timer armed while the peer's window was
//! closed, still armed when the peer acknowledged everything including our FIN (with the window
//! still zero), sent a second FIN one sequence number beyond the first when it fired in
//! FIN-WAIT-2. After our FIN is acknowledged nothing may carry a sequence number past it
//! (RFC 9293 3.3.1, 3.10.4).

use netlab::sim::{Duration, Instant};
use netlab::tcp::{TcpConfig, TcpStack, TcpState};
use netlab::wire::{TcpFlags, TcpOptions, TcpRepr};
use std::net::{Ipv4Addr, SocketAddrV4};

const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const PEER_ISS: u32 = 5000;

fn segment(st: &mut TcpStack, now: Instant, port: u16, flags: TcpFlags, ack: u32, window: u16) {
    let seq = PEER_ISS.wrapping_add(u32::from(!flags.syn()));
    let seg = TcpRepr {
        src_port: 80,
        dst_port: port,
        seq,
        ack,
        flags,
        window,
        urgent: 0,
        options: TcpOptions::default(),
        payload: &[],
    };
    st.on_segment(now, PEER, US, &seg);
}

/// What the stack sends now: (seq, flags, payload length).
fn sent(st: &mut TcpStack, now: Instant) -> Vec<(u32, TcpFlags, usize)> {
    let mut out = Vec::new();
    st.poll_transmit(now, &mut |_, _, r| out.push((r.seq, r.flags, r.payload.len())));
    out
}

#[test]
fn a_persist_timer_left_from_a_closed_window_sends_no_second_fin() {
    let cfg = TcpConfig { nagle: false, ..TcpConfig::default() };
    let mut st = TcpStack::new(1, cfg);
    let mut now = Instant::ZERO;
    let c = st.connect(now, SocketAddrV4::new(US, 0), SocketAddrV4::new(PEER, 80), None).unwrap();
    let syn = sent(&mut st, now);
    let iss = syn[0].0;
    let port = st.conn_info(c).unwrap().local.port();
    segment(&mut st, now, port, TcpFlags(TcpFlags::SYN.0 | TcpFlags::ACK.0), iss.wrapping_add(1), 1000);
    assert_eq!(st.state(c), Some(TcpState::Established));
    // 300 bytes and the FIN go out into the 1000-byte window.
    st.send(now, c, &[7u8; 300]).unwrap();
    st.shutdown_write(now, c).unwrap();
    let out = sent(&mut st, now);
    assert!(out.iter().any(|(_, f, _)| f.fin()), "{out:?}");
    let fin_seq = iss.wrapping_add(301);
    // The peer takes 100 bytes and closes its window: the persist timer is armed.
    segment(&mut st, now, port, TcpFlags::ACK, iss.wrapping_add(101), 0);
    let _ = sent(&mut st, now);
    // Then it acknowledges everything, the FIN included, its window still closed.
    segment(&mut st, now, port, TcpFlags::ACK, fin_seq.wrapping_add(1), 0);
    assert_eq!(st.state(c), Some(TcpState::FinWait2));
    let _ = sent(&mut st, now);
    // Let every timer that is due within a minute fire: nothing sent may lie beyond the FIN.
    let end = now + Duration::from_secs(59);
    while let Some(t) = st.poll_timeout().filter(|t| *t <= end) {
        now = t;
        st.handle_timeout(now);
        for (seq, flags, len) in sent(&mut st, now) {
            let last = seq.wrapping_add(len as u32 + u32::from(flags.fin()));
            assert!(
                last.wrapping_sub(fin_seq.wrapping_add(1)) > 1 << 31 || last == fin_seq.wrapping_add(1) && !flags.fin(),
                "at {now}: sent {flags:?} at seq ISS+{} after the FIN at ISS+301 was acknowledged",
                seq.wrapping_sub(iss)
            );
        }
    }
}
