//! Found by the `tcp_segments` fuzz target (and reported in issue 13): with the configured MSS and
//! the peer's MSS option both 65,535 the stack built segments longer than 65,535 bytes, and
//! `TcpRepr::emit` panicked. Whatever the MSS, every segment fits in one IPv4 datagram.

use netlab::sim::Instant;
use netlab::tcp::{TcpConfig, TcpStack, TcpState};
use netlab::wire::{TcpFlags, TcpOptions, TcpRepr};
use std::net::{Ipv4Addr, SocketAddrV4};

const US: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

fn largest_segment(timestamps: bool) -> usize {
    let cfg = TcpConfig { mss: 65_535, timestamps, send_buffer: 1 << 20, ..TcpConfig::default() };
    let mut st = TcpStack::new(1, cfg);
    let now = Instant::ZERO;
    let c = st.connect(now, SocketAddrV4::new(US, 0), SocketAddrV4::new(PEER, 80), None).unwrap();
    let mut syn = None;
    st.poll_transmit(now, &mut |_, _, r| syn = Some((r.seq, r.src_port)));
    let (iss, port) = syn.unwrap();
    let options = TcpOptions {
        mss: Some(65_535),
        window_scale: Some(4),
        timestamps: timestamps.then_some((1, 0)),
        ..TcpOptions::default()
    };
    let syn_ack = TcpRepr {
        src_port: 80,
        dst_port: port,
        seq: 9,
        ack: iss.wrapping_add(1),
        flags: TcpFlags(TcpFlags::SYN.0 | TcpFlags::ACK.0),
        window: 65_535,
        urgent: 0,
        options,
        payload: &[],
    };
    st.on_segment(now, PEER, US, &syn_ack);
    assert_eq!(st.state(c), Some(TcpState::Established));
    let data = vec![1u8; 400_000];
    st.send(now, c, &data).unwrap();
    let (mut largest, mut buf) = (0, Vec::new());
    st.poll_transmit(now, &mut |src, dst, r| {
        buf.resize(r.buffer_len(), 0);
        r.emit(&mut buf, src, dst); // panicked before the fix
        largest = largest.max(20 + r.buffer_len());
    });
    largest
}

#[test]
fn segments_fit_in_an_ipv4_datagram_whatever_the_mss() {
    for timestamps in [false, true] {
        let l = largest_segment(timestamps);
        assert!(l <= 65_535, "a {l}-byte datagram (timestamps {timestamps})");
        assert!(l > 60_000, "jumbo segments are still sent: {l}");
    }
}
