//! A small world whose received frames come from the fuzz input: host h1 (netlab's stack, a TCP
//! server on port 80, a client connecting out to port 5000 and a ping) on link l1, whose other end
//! (host x) is marked external, so that h1 hears nothing but the frames the input describes.
//!
//! Input: records of [flags, delay in ms, length (2 bytes), bytes]. With flag bit 0, the record is
//! shaped into a frame addressed to h1 (Ethernet from x's MAC to h1's; with bit 1 an IPv4 header
//! from x to h1 whose protocol is the record's first byte), and with bit 2 its IPv4, TCP, UDP and
//! ICMP checksums are made right, so that the fuzzer reaches the code behind them. Nothing may
//! panic, and the run ends within the time limit.

use crate::Bytes;
use netlab::sim::{Duration, Instant};
use netlab::wire::MacAddr;
use netlab::wire::checksum;
use netlab::{Impairments, TcpConfig, WorldBuilder};
use std::net::{Ipv4Addr, SocketAddrV4};

const H1_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 1]);
const X_MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 2]);

/// Checks one input.
pub fn check(data: &[u8]) {
    let mut b = WorldBuilder::new(1);
    let cfg = TcpConfig { max_retransmissions: 2, max_syn_retransmissions: 1, ..TcpConfig::default() };
    let (h1, x) = (b.host("h1", cfg.clone()), b.host("x", cfg));
    let imp = Impairments { delay: Duration::from_millis(1), rate_bps: Some(100_000_000), ..Impairments::default() };
    let l1 = b.link_auto("l1", h1, x, imp);
    b.mac(l1, 0, H1_MAC);
    b.mac(l1, 1, X_MAC);
    b.external(l1, 1);
    b.keep_tcp_events(false);
    let Ok(mut world) = b.build() else { return };
    let (Some(h1_ip), Some(x_ip)) = (world.host_addr("h1"), world.host_addr("x")) else { return };
    world.spawn("h1", |host| async move {
        let Ok(listener) = host.listen(80, 4, None) else { return };
        while let Ok(stream) = listener.accept().await {
            let mut buf = [0u8; 1024];
            while let Ok(n @ 1..) = stream.read(&mut buf).await {
                if stream.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        }
    });
    world.spawn("h1", move |host| async move {
        if let Ok(stream) = host.connect(SocketAddrV4::new(x_ip, 5000), None).await {
            let _ = stream.write_all(&[7u8; 3000]).await;
            let mut buf = [0u8; 1024];
            while let Ok(1..) = stream.read(&mut buf).await {}
        }
    });
    world.spawn("h1", move |host| async move {
        host.icmp_open(1);
        for seq in 0..3 {
            host.icmp_echo(x_ip, 1, seq, 64, b"fuzz");
            let _ = host.timeout(Duration::from_millis(200), host.icmp_recv(1)).await;
        }
    });
    let mut input = Bytes::new(data);
    let mut frames = 0;
    while !input.is_empty() && frames < 64 {
        frames += 1;
        let flags = input.u8();
        let delay = Duration::from_millis(u64::from(input.u8()));
        let len = usize::from(input.u16() % 1600);
        let frame = shape(flags, input.take(len), h1_ip, x_ip);
        let _ = world.run_until(world.now() + delay);
        world.inject_frame("l1", 1, &frame).expect("l1 exists");
    }
    let outcome = world.run_until(world.now() + Duration::from_secs(120));
    assert!(outcome.sim_time <= Instant::ZERO + Duration::from_secs(120 + 64 * 256), "{outcome:?}");
}

/// The frame a record describes (see the module's comment).
fn shape(flags: u8, body: &[u8], h1: Ipv4Addr, x: Ipv4Addr) -> Vec<u8> {
    if flags & 1 == 0 {
        return body.to_vec();
    }
    let mut f = Vec::with_capacity(14 + 20 + body.len());
    f.extend_from_slice(&H1_MAC.0);
    f.extend_from_slice(&X_MAC.0);
    if flags & 2 == 0 {
        f.extend_from_slice(&(if flags & 8 != 0 { 0x0806u16 } else { 0x0800 }).to_be_bytes());
        f.extend_from_slice(body);
        if flags & 4 != 0 && flags & 8 == 0 {
            fix_ipv4(&mut f[14..]);
        }
        return f;
    }
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let (protocol, rest) = body.split_first().map_or((6, &[][..]), |(p, r)| ([6, 17, 1, *p][usize::from(*p % 4)], r));
    let total = (20 + rest.len()) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[8] = 64;
    ip[9] = protocol;
    ip[12..16].copy_from_slice(&x.octets());
    ip[16..20].copy_from_slice(&h1.octets());
    f.extend_from_slice(&ip);
    f.extend_from_slice(rest);
    if flags & 4 != 0 {
        fix_ipv4(&mut f[14..]);
    }
    f
}

/// Makes the IPv4 header checksum and the TCP/UDP/ICMP checksum of `p` right.
fn fix_ipv4(p: &mut [u8]) {
    let Some(&b0) = p.first() else { return };
    let ihl = usize::from(b0 & 0x0f) * 4;
    if ihl < 20 || ihl > p.len() {
        return;
    }
    p[10..12].fill(0);
    let c = checksum::checksum(&p[..ihl]);
    p[10..12].copy_from_slice(&c.to_be_bytes());
    let (src, dst) = (Ipv4Addr::new(p[12], p[13], p[14], p[15]), Ipv4Addr::new(p[16], p[17], p[18], p[19]));
    let protocol = p[9];
    let end = usize::from(u16::from_be_bytes([p[2], p[3]])).clamp(ihl, p.len());
    let l4 = &mut p[ihl..end];
    let at = match protocol {
        6 => 16,
        17 => 6,
        1 => 2,
        _ => return,
    };
    if l4.len() < at + 2 {
        return;
    }
    l4[at..at + 2].fill(0);
    let c = if protocol == 1 {
        checksum::checksum(l4)
    } else {
        checksum::finish(checksum::sum(checksum::pseudo_header(src, dst, protocol, l4.len() as u16), l4))
    };
    l4[at..at + 2].copy_from_slice(&c.to_be_bytes());
}
