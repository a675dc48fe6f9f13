//! TCP header and options (RFC 9293 section 3.1, RFC 7323, RFC 2018).
use super::checksum;
use super::{Result, WireError};
use std::fmt;
use std::net::Ipv4Addr;

/// TCP flags, as the low 8 bits of the flags field.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// No more data from the sender.
    pub const FIN: TcpFlags = TcpFlags(0x01);
    /// Synchronize sequence numbers (opens a connection).
    pub const SYN: TcpFlags = TcpFlags(0x02);
    /// Reset the connection.
    pub const RST: TcpFlags = TcpFlags(0x04);
    /// Push: deliver the data to the application promptly.
    pub const PSH: TcpFlags = TcpFlags(0x08);
    /// The acknowledgment field is significant.
    pub const ACK: TcpFlags = TcpFlags(0x10);
    /// The urgent pointer is significant (netlab never sets it).
    pub const URG: TcpFlags = TcpFlags(0x20);
    /// ECN echo (RFC 3168; netlab never sets it).
    pub const ECE: TcpFlags = TcpFlags(0x40);
    /// Congestion window reduced (RFC 3168; netlab never sets it).
    pub const CWR: TcpFlags = TcpFlags(0x80);
    /// Names in Wireshark's order (lowest bit first), e.g. "FIN|PSH|ACK".
    const NAMES: [&'static str; 8] = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"];

    /// Whether every flag of `o` is set.
    pub fn contains(self, o: TcpFlags) -> bool {
        self.0 & o.0 == o.0
    }
    /// Whether FIN is set.
    pub fn fin(self) -> bool {
        self.contains(Self::FIN)
    }
    /// Whether SYN is set.
    pub fn syn(self) -> bool {
        self.contains(Self::SYN)
    }
    /// Whether RST is set.
    pub fn rst(self) -> bool {
        self.contains(Self::RST)
    }
    /// Whether ACK is set.
    pub fn ack(self) -> bool {
        self.contains(Self::ACK)
    }
    /// Whether PSH is set.
    pub fn psh(self) -> bool {
        self.contains(Self::PSH)
    }
    /// Whether URG is set.
    pub fn urg(self) -> bool {
        self.contains(Self::URG)
    }
    /// Whether no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
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
impl std::ops::BitAnd for TcpFlags {
    type Output = TcpFlags;
    fn bitand(self, o: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & o.0)
    }
}

/// "SYN|ACK" style, lowest bit first (Wireshark's order); no flags at all is "-".
impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("-");
        }
        let mut first = true;
        for (bit, name) in Self::NAMES.iter().enumerate() {
            if self.0 & (1 << bit) != 0 {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The options netlab understands. Unknown kinds are skipped by their length on parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpOptions {
    /// Maximum segment size the sender can receive (kind 2; SYN only, RFC 9293 3.7.1).
    pub mss: Option<u16>,
    /// Window scale shift count (kind 3; SYN only, RFC 7323 section 2).
    pub window_scale: Option<u8>,
    /// SACK permitted (kind 4; SYN only, RFC 2018).
    pub sack_permitted: bool,
    /// Up to 4 SACK blocks (left, right), in the order they appear; unused slots are None.
    pub sack_blocks: [Option<(u32, u32)>; 4],
    /// Timestamps (TSval, TSecr).
    pub timestamps: Option<(u32, u32)>,
}

/// Option kinds (RFC 9293 section 3.2, RFC 7323, RFC 2018).
const OPT_EOL: u8 = 0;
const OPT_NOP: u8 = 1;
const OPT_MSS: u8 = 2;
const OPT_WS: u8 = 3;
const OPT_SACK_PERM: u8 = 4;
const OPT_SACK: u8 = 5;
const OPT_TS: u8 = 8;
/// Largest window shift (RFC 7323 section 2.3).
pub const MAX_WINDOW_SCALE: u8 = 14;
/// Room for options: the data offset is 4 bits, so the header is at most 60 bytes.
const MAX_OPTIONS_LEN: usize = 40;
const PROTO_TCP: u8 = 6;

impl TcpOptions {
    /// Bytes of options `emit_into` writes and how many SACK blocks fit, for the canonical layout
    /// (Linux's): MSS (4), SACK-permitted + timestamps packed as 2+10 or NOP,NOP+10 or NOP,NOP+2,
    /// NOP+window scale (4), NOP,NOP+SACK (4 + 8n). Every piece is a multiple of 4, so no padding.
    fn layout(&self) -> (usize, usize) {
        let mut len = 0;
        if self.mss.is_some() {
            len += 4;
        }
        len += match (self.sack_permitted, self.timestamps.is_some()) {
            (_, true) => 12,
            (true, false) => 4,
            (false, false) => 0,
        };
        if self.window_scale.is_some() {
            len += 4;
        }
        let wanted = self.sack_blocks.iter().flatten().count();
        let room = MAX_OPTIONS_LEN.saturating_sub(len + 4) / 8;
        let n = wanted.min(room);
        if n > 0 {
            len += 4 + 8 * n;
        }
        (len, n)
    }

    /// Length in bytes of the options `TcpRepr::emit` writes (a multiple of 4, at most 40).
    pub fn emitted_len(&self) -> usize {
        self.layout().0
    }

    /// What a receiver parses back after `emit`: SACK blocks compacted (the `None` slots dropped)
    /// and cut to as many as fit, window scale clamped to 14.
    pub fn normalized(&self) -> TcpOptions {
        let (_, n) = self.layout();
        let mut out = *self;
        out.sack_blocks = [None; 4];
        for (slot, b) in out.sack_blocks.iter_mut().zip(self.sack_blocks.iter().flatten().take(n)) {
            *slot = Some(*b);
        }
        out.window_scale = self.window_scale.map(|s| s.min(MAX_WINDOW_SCALE));
        out
    }

    /// Parses the option bytes of a header (RFC 9293 section 3.1/3.2).
    fn parse(mut opts: &[u8]) -> Result<TcpOptions> {
        let mut out = TcpOptions::default();
        while let Some((&kind, rest)) = opts.split_first() {
            match kind {
                // End of option list: the rest is padding.
                OPT_EOL => break,
                OPT_NOP => {
                    opts = rest;
                    continue;
                }
                _ => {}
            }
            let Some(&len) = rest.first() else {
                return Err(WireError::Malformed("tcp option length missing"));
            };
            let len = usize::from(len);
            // The length counts kind and length bytes, so it is at least 2 (RFC 9293 3.2).
            if len < 2 {
                return Err(WireError::Malformed("tcp option length < 2"));
            }
            let Some(body) = opts.get(2..len) else {
                return Err(WireError::Malformed("tcp option runs past the header"));
            };
            match kind {
                OPT_MSS => {
                    let &[a, b] = body else {
                        return Err(WireError::Malformed("tcp mss option length"));
                    };
                    out.mss = Some(u16::from_be_bytes([a, b]));
                }
                OPT_WS => {
                    let &[shift] = body else {
                        return Err(WireError::Malformed("tcp window scale option length"));
                    };
                    // RFC 7323 section 2.3: a shift > 14 is treated as 14.
                    out.window_scale = Some(shift.min(MAX_WINDOW_SCALE));
                }
                OPT_SACK_PERM => {
                    if !body.is_empty() {
                        return Err(WireError::Malformed("tcp sack-permitted option length"));
                    }
                    out.sack_permitted = true;
                }
                OPT_SACK => {
                    // RFC 2018 section 3: 2 + 8n bytes; n is at most 4 with 40 bytes of options.
                    if body.is_empty() || !body.len().is_multiple_of(8) || body.len() > 32 {
                        return Err(WireError::Malformed("tcp sack option length"));
                    }
                    out.sack_blocks = [None; 4];
                    for (slot, b) in out.sack_blocks.iter_mut().zip(body.chunks_exact(8)) {
                        let left = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                        let right = u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
                        *slot = Some((left, right));
                    }
                }
                OPT_TS => {
                    let &[a, b, c, d, e, f, g, h] = body else {
                        return Err(WireError::Malformed("tcp timestamps option length"));
                    };
                    out.timestamps = Some((u32::from_be_bytes([a, b, c, d]), u32::from_be_bytes([e, f, g, h])));
                }
                // Unknown kinds are skipped by their length (RFC 9293 section 3.2, "must be
                // prepared to handle an illegal option length", and 3.1 on unknown options).
                _ => {}
            }
            opts = &opts[len..];
        }
        Ok(out)
    }

    /// Writes the canonical layout (see `layout`) into `buf[..self.emitted_len()]`.
    fn emit_into(&self, buf: &mut [u8]) {
        let (len, n_sack) = self.layout();
        let buf = &mut buf[..len];
        let mut at = 0;
        let mut put = |bytes: &[u8]| {
            buf[at..at + bytes.len()].copy_from_slice(bytes);
            at += bytes.len();
        };
        if let Some(mss) = self.mss {
            let [a, b] = mss.to_be_bytes();
            put(&[OPT_MSS, 4, a, b]);
        }
        match (self.sack_permitted, self.timestamps) {
            (sp, Some((val, ecr))) => {
                if sp {
                    put(&[OPT_SACK_PERM, 2]);
                } else {
                    put(&[OPT_NOP, OPT_NOP]);
                }
                put(&[OPT_TS, 10]);
                put(&val.to_be_bytes());
                put(&ecr.to_be_bytes());
            }
            (true, None) => put(&[OPT_NOP, OPT_NOP, OPT_SACK_PERM, 2]),
            (false, None) => {}
        }
        if let Some(shift) = self.window_scale {
            put(&[OPT_NOP, OPT_WS, 3, shift.min(MAX_WINDOW_SCALE)]);
        }
        if n_sack > 0 {
            put(&[OPT_NOP, OPT_NOP, OPT_SACK, (2 + 8 * n_sack) as u8]);
            for &(left, right) in self.sack_blocks.iter().flatten().take(n_sack) {
                put(&left.to_be_bytes());
                put(&right.to_be_bytes());
            }
        }
        debug_assert_eq!(at, len);
    }
}

/// A TCP segment: header fields, options and the payload it borrows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpRepr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number of the first octet (of the SYN, if set).
    pub seq: u32,
    /// Acknowledgment number: the next sequence number expected (meaningful with ACK).
    pub ack: u32,
    /// Control flags.
    pub flags: TcpFlags,
    /// Receive window, unscaled as on the wire (RFC 7323: shifted by the peer's window scale).
    pub window: u16,
    /// Urgent pointer (meaningful with URG; netlab sends 0).
    pub urgent: u16,
    /// The options netlab understands.
    pub options: TcpOptions,
    /// The data.
    pub payload: &'a [u8],
}

impl<'a> TcpRepr<'a> {
    /// The length of a header without options.
    pub const MIN_HEADER_LEN: usize = 20;

    /// A segment with no options and no payload.
    pub fn bare(src_port: u16, dst_port: u16, seq: u32, ack: u32, flags: TcpFlags, window: u16) -> TcpRepr<'static> {
        TcpRepr { src_port, dst_port, seq, ack, flags, window, urgent: 0, options: TcpOptions::default(), payload: &[] }
    }

    /// A bare RST (no ACK) with sequence number `seq`, as sent in answer to a segment without ACK or
    /// forged by a fault rule (RFC 9293 3.10.7.1).
    pub fn rst(src_port: u16, dst_port: u16, seq: u32) -> TcpRepr<'static> {
        TcpRepr::bare(src_port, dst_port, seq, 0, TcpFlags::RST, 0)
    }

    /// A bare ACK (no options, no payload).
    pub fn ack(src_port: u16, dst_port: u16, seq: u32, ack: u32, window: u16) -> TcpRepr<'static> {
        TcpRepr::bare(src_port, dst_port, seq, ack, TcpFlags::ACK, window)
    }
    /// Parses a segment (header, options, payload) and verifies the checksum over the pseudo-header
    /// (`WireError::BadChecksum`). Malformed option lengths are rejected.
    ///
    /// `buf` is the whole segment (the IP payload). Checks, in order: at least 20 bytes, data
    /// offset >= 5 and within `buf` (else `Malformed`/`Truncated`), the checksum, then the options.
    /// The 4 reserved bits next to the data offset are ignored.
    pub fn parse(buf: &'a [u8], src: Ipv4Addr, dst: Ipv4Addr) -> Result<TcpRepr<'a>> {
        Self::parse_checking(buf, Some((src, dst)))
    }

    /// Like `parse`, for a segment whose checksum is known to be right (netlab's own `emit` wrote
    /// it and nothing changed the bytes since): the checksum is not computed again.
    pub fn parse_known_good(buf: &'a [u8]) -> Result<TcpRepr<'a>> {
        Self::parse_checking(buf, None)
    }

    /// `parse`, verifying the checksum with the pseudo-header of `addresses` if given.
    fn parse_checking(buf: &'a [u8], addresses: Option<(Ipv4Addr, Ipv4Addr)>) -> Result<TcpRepr<'a>> {
        let Some(h) = buf.first_chunk::<20>() else {
            return Err(WireError::Truncated);
        };
        let header_len = usize::from(h[12] >> 4) * 4;
        if header_len < Self::MIN_HEADER_LEN {
            return Err(WireError::Malformed("tcp data offset < 5"));
        }
        if header_len > buf.len() {
            return Err(WireError::Truncated);
        }
        // The pseudo-header carries the segment length in 16 bits (RFC 9293 section 3.1).
        let Ok(seg_len) = u16::try_from(buf.len()) else {
            return Err(WireError::Malformed("tcp segment longer than 65535 bytes"));
        };
        if let Some((src, dst)) = addresses
            && checksum::finish(checksum::sum(checksum::pseudo_header(src, dst, PROTO_TCP, seg_len), buf)) != 0
        {
            return Err(WireError::BadChecksum);
        }
        let options = TcpOptions::parse(&buf[Self::MIN_HEADER_LEN..header_len])?;
        let word = |i: usize| u32::from_be_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        Ok(TcpRepr {
            src_port: u16::from_be_bytes([h[0], h[1]]),
            dst_port: u16::from_be_bytes([h[2], h[3]]),
            seq: word(4),
            ack: word(8),
            flags: TcpFlags(h[13]),
            window: u16::from_be_bytes([h[14], h[15]]),
            urgent: u16::from_be_bytes([h[18], h[19]]),
            options,
            payload: &buf[header_len..],
        })
    }
    /// Header length including options, padded to a multiple of 4.
    ///
    /// Exactly what `emit` writes: 20 + `TcpOptions::emitted_len()` (at most 60; SACK blocks that
    /// do not fit are left out).
    pub fn header_len(&self) -> usize {
        Self::MIN_HEADER_LEN + self.options.emitted_len()
    }
    /// Header + payload length.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }
    /// Writes header, options, payload and checksum into `buf[..self.buffer_len()]`.
    ///
    /// Options are written in a canonical order (see `TcpOptions::normalized` for what a parser
    /// reads back). Panics if `buf` is too short or the segment exceeds 65535 bytes (caller bugs).
    pub fn emit(&self, buf: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr) {
        let header_len = self.header_len();
        let total = header_len + self.payload.len();
        let seg_len = u16::try_from(total).expect("tcp segment longer than 65535 bytes");
        let buf = &mut buf[..total];
        buf[0..2].copy_from_slice(&self.src_port.to_be_bytes());
        buf[2..4].copy_from_slice(&self.dst_port.to_be_bytes());
        buf[4..8].copy_from_slice(&self.seq.to_be_bytes());
        buf[8..12].copy_from_slice(&self.ack.to_be_bytes());
        buf[12] = ((header_len / 4) as u8) << 4;
        buf[13] = self.flags.0;
        buf[14..16].copy_from_slice(&self.window.to_be_bytes());
        buf[16..18].copy_from_slice(&[0, 0]);
        buf[18..20].copy_from_slice(&self.urgent.to_be_bytes());
        self.options.emit_into(&mut buf[Self::MIN_HEADER_LEN..header_len]);
        buf[header_len..].copy_from_slice(self.payload);
        let c = checksum::finish(checksum::sum(checksum::pseudo_header(src, dst, PROTO_TCP, seg_len), buf));
        buf[16..18].copy_from_slice(&c.to_be_bytes());
    }
    /// Sequence space this segment occupies: payload length + 1 for SYN + 1 for FIN.
    pub fn segment_len(&self) -> usize {
        self.payload.len() + usize::from(self.flags.syn()) + usize::from(self.flags.fin())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SRC: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 1);
    const DST: Ipv4Addr = Ipv4Addr::new(192, 168, 0, 2);

    fn base(options: TcpOptions, payload: &[u8]) -> TcpRepr<'_> {
        TcpRepr {
            src_port: 40000,
            dst_port: 80,
            seq: 0xdead_beef,
            ack: 0x0102_0304,
            flags: TcpFlags::SYN | TcpFlags::ACK,
            window: 65535,
            urgent: 0,
            options,
            payload,
        }
    }

    fn full_options() -> TcpOptions {
        TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            sack_blocks: [Some((1, 2)), Some((3, 4)), Some((5, 6)), Some((7, 8))],
            timestamps: Some((100, 200)),
        }
    }

    /// A segment with a raw options area (padded by the caller to a multiple of 4).
    fn raw_segment(opts: &[u8], payload: &[u8], out: &mut [u8]) -> usize {
        assert_eq!(opts.len() % 4, 0);
        let hl = 20 + opts.len();
        let total = hl + payload.len();
        base(TcpOptions::default(), &[]).emit(out, SRC, DST);
        out[12] = ((hl / 4) as u8) << 4;
        out[20..hl].copy_from_slice(opts);
        out[hl..total].copy_from_slice(payload);
        fix_checksum(&mut out[..total]);
        total
    }

    fn fix_checksum(seg: &mut [u8]) {
        seg[16] = 0;
        seg[17] = 0;
        let len = seg.len() as u16;
        let c = checksum::finish(checksum::sum(checksum::pseudo_header(SRC, DST, 6, len), seg));
        seg[16..18].copy_from_slice(&c.to_be_bytes());
    }

    fn parse_opts(opts: &[u8]) -> Result<TcpOptions> {
        let mut buf = [0u8; 80];
        let n = raw_segment(opts, b"xy", &mut buf);
        TcpRepr::parse(&buf[..n], SRC, DST).map(|r| {
            assert_eq!(r.payload, b"xy");
            r.options
        })
    }

    #[test]
    fn flags_display() {
        assert_eq!((TcpFlags::SYN | TcpFlags::ACK).to_string(), "SYN|ACK");
        assert_eq!(format!("{:?}", TcpFlags::ACK | TcpFlags::FIN | TcpFlags::PSH), "FIN|PSH|ACK");
        assert_eq!(TcpFlags(0xff).to_string(), "FIN|SYN|RST|PSH|ACK|URG|ECE|CWR");
        assert_eq!(TcpFlags::default().to_string(), "-");
    }

    #[test]
    fn roundtrip_no_options() {
        let repr = base(TcpOptions::default(), b"hello");
        assert_eq!(repr.header_len(), 20);
        let mut buf = [0u8; 25];
        repr.emit(&mut buf, SRC, DST);
        assert_eq!(TcpRepr::parse(&buf, SRC, DST), Ok(repr));
    }

    #[test]
    fn syn_layout_like_linux() {
        let opts = TcpOptions {
            mss: Some(1460),
            window_scale: Some(7),
            sack_permitted: true,
            sack_blocks: [None; 4],
            timestamps: Some((1, 2)),
        };
        let repr = base(opts, &[]);
        assert_eq!(repr.header_len(), 40);
        let mut buf = [0u8; 40];
        repr.emit(&mut buf, SRC, DST);
        assert_eq!(&buf[20..40], &[2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 3, 3, 7]);
        assert_eq!(TcpRepr::parse(&buf, SRC, DST), Ok(repr));
    }

    #[test]
    fn header_len_matches_emit_for_every_shape() {
        for bits in 0..32u32 {
            for nsack in 0..=4usize {
                let mut o = TcpOptions {
                    mss: (bits & 1 != 0).then_some(536),
                    window_scale: (bits & 2 != 0).then_some(3),
                    sack_permitted: bits & 4 != 0,
                    sack_blocks: [None; 4],
                    timestamps: (bits & 8 != 0).then_some((9, 10)),
                };
                for i in 0..nsack {
                    // With bit 16 set, leave holes between the blocks.
                    let slot = if bits & 16 != 0 { 3 - i } else { i };
                    o.sack_blocks[slot] = Some((i as u32 * 10, i as u32 * 10 + 5));
                }
                let repr = base(o, b"p");
                let hl = repr.header_len();
                assert!(hl <= 60 && hl.is_multiple_of(4), "{o:?}");
                let mut buf = [0xeeu8; 80];
                repr.emit(&mut buf, SRC, DST);
                assert_eq!(usize::from(buf[12] >> 4) * 4, hl);
                assert_eq!(buf[hl], b'p');
                assert_eq!(buf[hl + 1], 0xee, "emit wrote past buffer_len");
                let parsed = TcpRepr::parse(&buf[..repr.buffer_len()], SRC, DST).unwrap();
                assert_eq!(parsed.options, o.normalized(), "{o:?}");
            }
        }
    }

    #[test]
    fn too_many_sack_blocks_are_cut() {
        let repr = base(full_options(), &[]);
        // MSS 4 + SACK_PERM/TS 12 + WS 4 = 20; 20 left: NOP NOP SACK header 4 + 2 blocks.
        assert_eq!(repr.header_len(), 60);
        let norm = full_options().normalized();
        assert_eq!(norm.sack_blocks, [Some((1, 2)), Some((3, 4)), None, None]);
        let only_sack = TcpOptions { sack_blocks: full_options().sack_blocks, ..TcpOptions::default() };
        assert_eq!(base(only_sack, &[]).header_len(), 20 + 4 + 32);
        let ts_sack = TcpOptions { timestamps: Some((1, 1)), ..only_sack };
        assert_eq!(base(ts_sack, &[]).header_len(), 20 + 12 + 4 + 24);
    }

    #[test]
    fn eol_ends_option_parsing() {
        // MSS, then EOL, then garbage that would be malformed if parsed.
        let o = parse_opts(&[2, 4, 0x02, 0x18, 0, 3, 0xff, 0x00]).unwrap();
        assert_eq!(o.mss, Some(536));
        assert_eq!(o.window_scale, None);
    }

    #[test]
    fn unknown_option_skipped() {
        // Kind 30 (MPTCP) length 6, then window scale; kind 254 length 2.
        let o = parse_opts(&[30, 6, 1, 2, 3, 4, 1, 3, 3, 5, 254, 2]).unwrap();
        assert_eq!(o.window_scale, Some(5));
    }

    #[test]
    fn window_scale_clamped() {
        let o = parse_opts(&[1, 3, 3, 200]).unwrap();
        assert_eq!(o.window_scale, Some(14));
    }

    #[test]
    fn sack_blocks_parsed() {
        let mut opts = [0u8; 20];
        opts[..4].copy_from_slice(&[1, 1, 5, 18]);
        opts[4..8].copy_from_slice(&100u32.to_be_bytes());
        opts[8..12].copy_from_slice(&200u32.to_be_bytes());
        opts[12..16].copy_from_slice(&300u32.to_be_bytes());
        opts[16..20].copy_from_slice(&400u32.to_be_bytes());
        let o = parse_opts(&opts).unwrap();
        assert_eq!(o.sack_blocks, [Some((100, 200)), Some((300, 400)), None, None]);
    }

    #[test]
    fn malformed_option_lengths() {
        let cases: &[&[u8]] = &[
            &[2, 3, 0, 0],              // MSS length 3
            &[2, 5, 0, 0, 0, 1, 1, 1],  // MSS length 5
            &[3, 4, 7, 0],              // WS length 4
            &[4, 3, 0, 0],              // SACK-permitted length 3
            &[8, 8, 0, 0, 0, 0, 0, 0],  // timestamps length 8
            &[5, 2, 0, 0],              // SACK with no blocks
            &[5, 6, 0, 0, 0, 0, 0, 0],  // SACK length not 2 + 8n
            &[30, 1, 0, 0],             // length < 2
            &[30, 0, 0, 0],             // length 0 (would loop forever if accepted)
            &[1, 1, 1, 30],             // length byte missing at the end of the header
            &[30, 9, 0, 0, 0, 0, 0, 0], // runs past the header
            &[2, 4, 0x05],              // (padded below) MSS running past the header
        ];
        for opts in cases {
            let mut padded = [1u8; 8];
            let n = opts.len().div_ceil(4) * 4;
            padded[..opts.len()].copy_from_slice(opts);
            if opts.len() == 3 {
                // Make the last byte of the header the start of a 4-byte MSS option.
                padded[..4].copy_from_slice(&[1, 1, 2, 4]);
            }
            assert!(
                matches!(parse_opts(&padded[..n]), Err(WireError::Malformed(_))),
                "{opts:?} -> {:?}",
                parse_opts(&padded[..n])
            );
        }
    }

    #[test]
    fn truncated_and_bad_offset() {
        let repr = base(full_options(), b"abc");
        let mut buf = [0u8; 63];
        repr.emit(&mut buf, SRC, DST);
        assert_eq!(TcpRepr::parse(&buf[..19], SRC, DST), Err(WireError::Truncated));
        // Header is 60 bytes; a 40-byte buffer cannot hold it.
        assert_eq!(TcpRepr::parse(&buf[..40], SRC, DST), Err(WireError::Truncated));
        let mut b = [0u8; 20];
        base(TcpOptions::default(), &[]).emit(&mut b, SRC, DST);
        b[12] = 4 << 4;
        assert!(matches!(TcpRepr::parse(&b, SRC, DST), Err(WireError::Malformed(_))));
    }

    #[test]
    fn bad_checksum_detected() {
        let repr = base(full_options(), b"abc");
        let mut buf = [0u8; 63];
        repr.emit(&mut buf, SRC, DST);
        assert!(TcpRepr::parse(&buf, SRC, DST).is_ok());
        for i in [0usize, 16, 17, 30, 62] {
            let mut b = buf;
            b[i] ^= 0x04;
            assert_eq!(TcpRepr::parse(&b, SRC, DST), Err(WireError::BadChecksum), "byte {i}");
        }
        // Wrong pseudo-header.
        assert_eq!(TcpRepr::parse(&buf, DST, SRC).map(|_| ()), Ok(()), "swapping src and dst keeps the sum");
        assert_eq!(TcpRepr::parse(&buf, SRC, Ipv4Addr::new(192, 168, 0, 3)), Err(WireError::BadChecksum));
    }

    #[test]
    fn reserved_bits_ignored_and_segment_len() {
        let repr = base(TcpOptions::default(), b"ab");
        let mut buf = [0u8; 22];
        repr.emit(&mut buf, SRC, DST);
        buf[12] |= 0x0f;
        fix_checksum(&mut buf);
        assert_eq!(TcpRepr::parse(&buf, SRC, DST), Ok(repr));
        assert_eq!(repr.segment_len(), 3);
    }

    /// Frames for segments are not cleared before `emit` (`Fabric::new_frame_overwritten`): what
    /// was in the buffer before must not show through anywhere.
    #[test]
    fn emit_writes_every_byte_of_its_buffer() {
        let payload: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
        for options in [TcpOptions::default(), full_options()] {
            let seg = base(options, &payload);
            let n = seg.buffer_len();
            let (mut a, mut b) = (vec![0x00u8; n], vec![0xffu8; n]);
            seg.emit(&mut a, SRC, DST);
            seg.emit(&mut b, SRC, DST);
            assert_eq!(a, b);
        }
    }

    #[test]
    fn parse_known_good_reads_what_parse_reads_without_the_checksum() {
        let payload = [7u8; 300];
        let seg = base(full_options(), &payload);
        let mut buf = vec![0u8; seg.buffer_len()];
        seg.emit(&mut buf, SRC, DST);
        assert_eq!(TcpRepr::parse_known_good(&buf), TcpRepr::parse(&buf, SRC, DST));
        // It is only for segments known to be intact: a changed byte goes unnoticed there.
        buf[100] ^= 1;
        assert_eq!(TcpRepr::parse(&buf, SRC, DST), Err(WireError::BadChecksum));
        assert!(TcpRepr::parse_known_good(&buf).is_ok());
    }
}
