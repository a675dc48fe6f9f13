//! `NetlabStack`: netlab's own `TcpStack` behind the `Stack` trait, with the minimal IPv4 layer the
//! boundary needs: incoming datagrams are parsed and verified (`wire::Ipv4Repr`, `wire::TcpRepr`),
//! outgoing segments get a 20-byte header (DF set, TTL 64, identification from a counter).
//!
//! ICMP "fragmentation needed" about one of our TCP segments goes to `TcpStack::on_icmp_frag_needed`
//! (RFC 1191); every other ICMP message, UDP and other protocols are dropped here (counted): echo,
//! port unreachable and the like are the host's business, not the transport's.

use super::{Sockets, Stack, StackError, StackErrorKind};
use crate::sim::Instant;
use crate::tcp::{ConnInfo, SharedContent, SocketId, TcpConfig, TcpError, TcpEvent, TcpStack, TcpState};
use crate::wire::{IcmpRepr, IpProtocol, Ipv4Repr, TcpRepr};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::task::Waker;

/// TTL of the datagrams we send (RFC 1700's default, Linux's too).
const TTL: u8 = 64;
/// IPv4 + TCP header bytes without options: MSS = MTU - 40 (RFC 879, RFC 9293 3.7.1).
const IP_TCP_HEADERS: u16 = 40;

/// netlab's TCP and a minimal IPv4 layer.
pub struct NetlabStack {
    tcp: TcpStack,
    isn_key: u64,
    defaults: TcpConfig,
    detail: bool,
    addrs: Vec<(Ipv4Addr, u8)>,
    ident: u16,
    dropped: u64,
    scratch: Vec<u8>,
}

impl NetlabStack {
    /// A stack whose ISNs and ephemeral ports are keyed by `isn_key` (drawn from the host's seeded
    /// stream) and whose sockets use `defaults` unless a call gives its own config.
    pub fn new(isn_key: u64, defaults: TcpConfig) -> Self {
        NetlabStack {
            tcp: TcpStack::new(isn_key, defaults.clone()),
            isn_key,
            defaults,
            detail: true,
            addrs: Vec::new(),
            ident: 0,
            dropped: 0,
            scratch: Vec::with_capacity(2048),
        }
    }

    /// The TCP stack inside (for introspection: `readiness`, `open_sockets`, ...).
    pub fn tcp(&self) -> &TcpStack {
        &self.tcp
    }

    /// Datagrams `receive` dropped: not for one of our addresses, bad checksums, protocols and ICMP
    /// messages this layer does not handle.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    fn is_ours(&self, a: Ipv4Addr) -> bool {
        self.addrs.iter().any(|&(x, _)| x == a)
    }

    fn receive_icmp(&mut self, now: Instant, payload: &[u8]) -> bool {
        match IcmpRepr::parse(payload) {
            Ok(IcmpRepr::DestUnreachable { code: IcmpRepr::DEST_UNREACH_FRAG_NEEDED, next_hop_mtu, invoking })
                if invoking.get(9) == Some(&IpProtocol::TCP) =>
            {
                self.tcp.on_icmp_frag_needed(now, invoking, next_hop_mtu);
                true
            }
            _ => false,
        }
    }
}

/// The defaults with the MSS clamped to what `mtu` allows (as the simulated host does).
fn clamp_mss(mut cfg: TcpConfig, mtu: u16) -> TcpConfig {
    cfg.mss = cfg.mss.min(mtu.saturating_sub(IP_TCP_HEADERS).clamp(88, 65495));
    cfg
}

impl Sockets for NetlabStack {
    fn listen(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        backlog: usize,
        cfg: Option<TcpConfig>,
    ) -> Result<SocketId, TcpError> {
        self.tcp.listen(now, local, backlog, cfg)
    }

    fn accept(&mut self, now: Instant, listener: SocketId) -> Result<Option<SocketId>, TcpError> {
        self.tcp.accept(now, listener)
    }

    fn connect(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        cfg: Option<TcpConfig>,
    ) -> Result<SocketId, TcpError> {
        self.tcp.connect(now, local, remote, cfg)
    }

    fn connect_result(&self, id: SocketId) -> Result<Option<()>, TcpError> {
        self.tcp.connect_result(id)
    }

    fn send(&mut self, now: Instant, id: SocketId, data: &[u8]) -> Result<usize, TcpError> {
        self.tcp.send(now, id, data)
    }

    fn recv(&mut self, now: Instant, id: SocketId, buf: &mut [u8]) -> Result<Option<usize>, TcpError> {
        self.tcp.recv(now, id, buf)
    }

    fn send_with(
        &mut self,
        now: Instant,
        id: SocketId,
        max: usize,
        fill: &mut dyn FnMut(usize, &mut [u8]),
    ) -> Result<usize, TcpError> {
        self.tcp.send_with(now, id, max, fill)
    }

    fn send_content(
        &mut self,
        now: Instant,
        id: SocketId,
        content: &SharedContent,
        at: u64,
        max: usize,
    ) -> Result<usize, TcpError> {
        self.tcp.send_content(now, id, content, at, max)
    }

    fn recv_with(
        &mut self,
        now: Instant,
        id: SocketId,
        max: usize,
        f: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<usize>, TcpError> {
        self.tcp.recv_with(now, id, max, f)
    }

    fn shutdown_write(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
        self.tcp.shutdown_write(now, id)
    }

    fn close(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
        self.tcp.close(now, id)
    }

    fn abort(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
        self.tcp.abort(now, id)
    }

    fn state(&self, id: SocketId) -> Option<TcpState> {
        self.tcp.state(id)
    }

    fn register_waker(&mut self, id: SocketId, waker: &Waker) {
        self.tcp.register_waker(id, waker);
    }

    fn conn_info(&self, id: SocketId) -> Option<ConnInfo> {
        self.tcp.conn_info(id)
    }
}

impl Stack for NetlabStack {
    fn name(&self) -> &str {
        "netlab"
    }

    fn reports_states(&self) -> bool {
        true
    }

    fn configure(&mut self, addrs: &[(Ipv4Addr, u8)], mtu: u16) -> Result<(), StackError> {
        let fail =
            |m: String| StackError { host: String::new(), stack: "netlab".into(), kind: StackErrorKind::Config(m) };
        if let Some((a, p)) = addrs.iter().find(|(a, p)| *p > 32 || a.is_unspecified() || a.is_broadcast()) {
            return Err(fail(format!("address {a}/{p} cannot be a host address")));
        }
        if mtu < 68 {
            return Err(fail(format!("MTU {mtu} is below IPv4's minimum of 68 (RFC 791)")));
        }
        self.addrs = addrs.to_vec();
        // Configured before any socket exists: the defaults' MSS follows the MTU.
        if self.tcp.open_sockets() == 0 {
            self.tcp = TcpStack::new(self.isn_key, clamp_mss(self.defaults.clone(), mtu));
            self.tcp.set_detail_events(self.detail);
        }
        Ok(())
    }

    fn receive(&mut self, now: Instant, datagram: &[u8]) {
        let Ok((ip, payload)) = Ipv4Repr::parse(datagram) else {
            self.dropped += 1;
            return;
        };
        if !self.addrs.is_empty() && !self.is_ours(ip.dst) {
            self.dropped += 1;
            return;
        }
        let handled = match ip.protocol {
            IpProtocol::Tcp => match TcpRepr::parse(payload, ip.src, ip.dst) {
                Ok(seg) => {
                    self.tcp.on_segment(now, ip.src, ip.dst, &seg);
                    true
                }
                Err(_) => false,
            },
            IpProtocol::Icmp => self.receive_icmp(now, payload),
            _ => false,
        };
        if !handled {
            self.dropped += 1;
        }
    }

    fn poll_transmit(&mut self, now: Instant, out: &mut dyn FnMut(&[u8])) {
        let (ident, buf) = (&mut self.ident, &mut self.scratch);
        self.tcp.poll_transmit(now, &mut |src, dst, seg| {
            *ident = ident.wrapping_add(1);
            let len = seg.buffer_len();
            let ip = Ipv4Repr {
                src,
                dst,
                protocol: IpProtocol::Tcp,
                ttl: TTL,
                tos: 0,
                ident: *ident,
                // Path MTU discovery (RFC 1191): never fragmented, a router answers instead.
                dont_frag: true,
                payload_len: len,
            };
            buf.clear();
            buf.resize(Ipv4Repr::HEADER_LEN + len, 0);
            ip.emit(buf);
            seg.emit(&mut buf[Ipv4Repr::HEADER_LEN..], src, dst);
            out(buf);
        });
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.tcp.poll_timeout()
    }

    fn handle_timeout(&mut self, now: Instant) {
        self.tcp.handle_timeout(now);
    }

    fn drain_events(&mut self, f: &mut dyn FnMut(TcpEvent)) {
        self.tcp.drain_events(f);
    }

    fn set_detail_events(&mut self, on: bool) {
        self.detail = on;
        self.tcp.set_detail_events(on);
    }

    fn take_skipped_events(&mut self) -> u64 {
        self.tcp.take_skipped_events()
    }
}

/// netlab's own stack as simulated hosts run it (without the IPv4 layer of `NetlabStack`): the
/// socket calls are `TcpStack`'s own.
impl Sockets for TcpStack {
    fn listen(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        backlog: usize,
        cfg: Option<TcpConfig>,
    ) -> Result<SocketId, TcpError> {
        TcpStack::listen(self, now, local, backlog, cfg)
    }
    fn accept(&mut self, now: Instant, listener: SocketId) -> Result<Option<SocketId>, TcpError> {
        TcpStack::accept(self, now, listener)
    }
    fn connect(
        &mut self,
        now: Instant,
        local: SocketAddrV4,
        remote: SocketAddrV4,
        cfg: Option<TcpConfig>,
    ) -> Result<SocketId, TcpError> {
        TcpStack::connect(self, now, local, remote, cfg)
    }
    fn connect_result(&self, id: SocketId) -> Result<Option<()>, TcpError> {
        TcpStack::connect_result(self, id)
    }
    fn send(&mut self, now: Instant, id: SocketId, data: &[u8]) -> Result<usize, TcpError> {
        TcpStack::send(self, now, id, data)
    }
    fn recv(&mut self, now: Instant, id: SocketId, buf: &mut [u8]) -> Result<Option<usize>, TcpError> {
        TcpStack::recv(self, now, id, buf)
    }
    fn send_with(
        &mut self,
        now: Instant,
        id: SocketId,
        max: usize,
        fill: &mut dyn FnMut(usize, &mut [u8]),
    ) -> Result<usize, TcpError> {
        TcpStack::send_with(self, now, id, max, fill)
    }
    fn send_content(
        &mut self,
        now: Instant,
        id: SocketId,
        content: &SharedContent,
        at: u64,
        max: usize,
    ) -> Result<usize, TcpError> {
        TcpStack::send_content(self, now, id, content, at, max)
    }
    fn recv_with(
        &mut self,
        now: Instant,
        id: SocketId,
        max: usize,
        f: &mut dyn FnMut(&[u8]),
    ) -> Result<Option<usize>, TcpError> {
        TcpStack::recv_with(self, now, id, max, f)
    }
    fn shutdown_write(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
        TcpStack::shutdown_write(self, now, id)
    }
    fn close(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
        TcpStack::close(self, now, id)
    }
    fn abort(&mut self, now: Instant, id: SocketId) -> Result<(), TcpError> {
        TcpStack::abort(self, now, id)
    }
    fn state(&self, id: SocketId) -> Option<TcpState> {
        TcpStack::state(self, id)
    }
    fn register_waker(&mut self, id: SocketId, waker: &Waker) {
        TcpStack::register_waker(self, id, waker)
    }
    fn conn_info(&self, id: SocketId) -> Option<ConnInfo> {
        TcpStack::conn_info(self, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

    fn pair() -> (NetlabStack, NetlabStack) {
        let mut a = NetlabStack::new(1, TcpConfig::default());
        let mut b = NetlabStack::new(2, TcpConfig::default());
        a.configure(&[(A, 24)], 1500).unwrap();
        b.configure(&[(B, 24)], 1500).unwrap();
        (a, b)
    }

    fn sent(s: &mut NetlabStack, now: Instant) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        s.poll_transmit(now, &mut |d| v.push(d.to_vec()));
        v
    }

    #[test]
    fn syn_goes_out_in_a_df_ttl64_header_with_the_mtu_mss() {
        let (mut a, _) = pair();
        a.configure(&[(A, 24)], 1400).unwrap();
        let t = Instant::ZERO;
        a.connect(t, SocketAddrV4::new(A, 0), SocketAddrV4::new(B, 80), None).unwrap();
        let out = sent(&mut a, t);
        assert_eq!(out.len(), 1);
        let (ip, payload) = Ipv4Repr::parse(&out[0]).unwrap();
        assert!(ip.dont_frag && ip.ttl == 64 && ip.src == A && ip.dst == B && ip.ident == 1);
        let seg = TcpRepr::parse(payload, ip.src, ip.dst).unwrap();
        assert!(seg.flags.syn());
        assert_eq!(seg.options.mss, Some(1360));
    }

    #[test]
    fn handshake_through_datagrams_and_a_drop_count_for_strangers() {
        let (mut a, mut b) = pair();
        let t = Instant::ZERO;
        let l = b.listen(t, SocketAddrV4::new(B, 80), 4, None).unwrap();
        let c = a.connect(t, SocketAddrV4::new(A, 0), SocketAddrV4::new(B, 80), None).unwrap();
        for d in sent(&mut a, t) {
            b.receive(t, &d);
        }
        for d in sent(&mut b, t) {
            a.receive(t, &d);
        }
        for d in sent(&mut a, t) {
            b.receive(t, &d);
        }
        assert_eq!(a.connect_result(c), Ok(Some(())));
        assert!(b.accept(t, l).unwrap().is_some());
        // A datagram for another address, and bytes that are not IPv4: dropped and counted.
        a.shutdown_write(t, c).unwrap();
        let fin = sent(&mut a, t).pop().expect("a FIN");
        let mut other = NetlabStack::new(3, TcpConfig::default());
        other.configure(&[(Ipv4Addr::new(10, 0, 0, 9), 24)], 1500).unwrap();
        other.receive(t, &fin);
        other.receive(t, b"not a datagram");
        assert_eq!(other.dropped(), 2);
    }

    #[test]
    fn icmp_fragmentation_needed_lowers_the_path_mtu() {
        let (mut a, mut b) = pair();
        let t = Instant::ZERO;
        b.listen(t, SocketAddrV4::new(B, 80), 4, None).unwrap();
        let c = a.connect(t, SocketAddrV4::new(A, 0), SocketAddrV4::new(B, 80), None).unwrap();
        for _ in 0..2 {
            for d in sent(&mut a, t) {
                b.receive(t, &d);
            }
            for d in sent(&mut b, t) {
                a.receive(t, &d);
            }
        }
        a.send(t, c, &[7u8; 3000]).unwrap();
        let data = sent(&mut a, t);
        assert_eq!(data[0].len(), 1500, "a full-size segment");
        // A router's answer (RFC 1191): IP header + the first 28 bytes of the datagram it dropped.
        let quote = &data[0][..48];
        let icmp =
            IcmpRepr::DestUnreachable { code: IcmpRepr::DEST_UNREACH_FRAG_NEEDED, next_hop_mtu: 1000, invoking: quote };
        let mut msg = vec![0u8; Ipv4Repr::HEADER_LEN + icmp.buffer_len()];
        let ip = Ipv4Repr {
            src: Ipv4Addr::new(10, 0, 0, 254),
            dst: A,
            protocol: IpProtocol::Icmp,
            ttl: 64,
            tos: 0,
            ident: 9,
            dont_frag: false,
            payload_len: icmp.buffer_len(),
        };
        ip.emit(&mut msg);
        icmp.emit(&mut msg[Ipv4Repr::HEADER_LEN..]);
        a.receive(t, &msg);
        assert_eq!(a.dropped(), 0, "the ICMP message was handled");
        let mut lowered = None;
        a.drain_events(&mut |e| {
            if let crate::tcp::TcpEventKind::PathMtu { mtu, .. } = e.kind {
                lowered = Some(mtu);
            }
        });
        assert_eq!(lowered, Some(1000));
    }

    #[test]
    fn unusable_configuration_is_an_error() {
        let mut a = NetlabStack::new(1, TcpConfig::default());
        assert!(a.configure(&[(Ipv4Addr::UNSPECIFIED, 24)], 1500).is_err());
        assert!(a.configure(&[(A, 33)], 1500).is_err());
        assert!(a.configure(&[(A, 24)], 40).is_err());
    }
}
