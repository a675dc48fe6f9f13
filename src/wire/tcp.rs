//! TCP header and options (RFC 9293 section 3.1, RFC 7323, RFC 2018).
use super::Result;
use std::net::Ipv4Addr;

/// TCP flags, as the low 8 bits of the flags field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: TcpFlags = TcpFlags(0x01);
    pub const SYN: TcpFlags = TcpFlags(0x02);
    pub const RST: TcpFlags = TcpFlags(0x04);
    pub const PSH: TcpFlags = TcpFlags(0x08);
    pub const ACK: TcpFlags = TcpFlags(0x10);
    pub const URG: TcpFlags = TcpFlags(0x20);
    pub const ECE: TcpFlags = TcpFlags(0x40);
    pub const CWR: TcpFlags = TcpFlags(0x80);
    pub fn contains(self, o: TcpFlags) -> bool {
        self.0 & o.0 == o.0
    }
    pub fn fin(self) -> bool {
        self.contains(Self::FIN)
    }
    pub fn syn(self) -> bool {
        self.contains(Self::SYN)
    }
    pub fn rst(self) -> bool {
        self.contains(Self::RST)
    }
    pub fn ack(self) -> bool {
        self.contains(Self::ACK)
    }
    pub fn psh(self) -> bool {
        self.contains(Self::PSH)
    }
}
impl std::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    fn bitor(self, o: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | o.0)
    }
}
impl std::ops::BitOrAssign for TcpFlags {
    fn bitor_assign(&mut self, o: TcpFlags) {
        self.0 |= o.0
    }
}
// Debug/Display as "SYN|ACK" (Wireshark order) to be implemented.

/// The options netlab understands. Unknown kinds are skipped by their length on parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpOptions {
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    /// Up to 4 SACK blocks (left, right), in the order they appear; unused slots are None.
    pub sack_blocks: [Option<(u32, u32)>; 4],
    /// Timestamps (TSval, TSecr).
    pub timestamps: Option<(u32, u32)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpRepr<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    pub urgent: u16,
    pub options: TcpOptions,
    pub payload: &'a [u8],
}

impl<'a> TcpRepr<'a> {
    pub const MIN_HEADER_LEN: usize = 20;
    /// Parses a segment (header, options, payload) and verifies the checksum over the pseudo-header
    /// (`WireError::BadChecksum`). Malformed option lengths are rejected.
    pub fn parse(buf: &'a [u8], src: Ipv4Addr, dst: Ipv4Addr) -> Result<TcpRepr<'a>> {
        todo!()
    }
    /// Header length including options, padded to a multiple of 4.
    pub fn header_len(&self) -> usize {
        todo!()
    }
    /// Header + payload length.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }
    /// Writes header, options, payload and checksum into `buf[..self.buffer_len()]`.
    pub fn emit(&self, buf: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr) {
        todo!()
    }
    /// Sequence space this segment occupies: payload length + 1 for SYN + 1 for FIN.
    pub fn segment_len(&self) -> usize {
        self.payload.len() + usize::from(self.flags.syn()) + usize::from(self.flags.fin())
    }
}
