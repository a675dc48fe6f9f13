//! The pcapng blocks netlab writes (draft-ietf-opsawg-pcapng): one section header, one Ethernet
//! interface with nanosecond timestamps, and an enhanced packet block per frame carrying comments,
//! the direction and the frame's netlab id as its packet id. Little-endian, and nothing in a block
//! depends on the machine or the wall clock, so files are byte-identical wherever they are written.

use std::io::Write;

/// Block type of the section header block.
const SHB: u32 = 0x0A0D_0D0A;
/// Block type of the interface description block.
const IDB: u32 = 1;
/// Block type of the enhanced packet block.
const EPB: u32 = 6;
/// `opt_comment`: a UTF-8 comment (any block; several allowed).
const OPT_COMMENT: u16 = 1;
/// `shb_userappl`: the application that wrote the section.
const SHB_USERAPPL: u16 = 4;
/// `if_name`: the interface's name.
const IF_NAME: u16 = 2;
/// `if_tsresol`: timestamp units (9: nanoseconds).
const IF_TSRESOL: u16 = 9;
/// `epb_flags`: bits 0-1 give the direction (1 inbound, 2 outbound).
const EPB_FLAGS: u16 = 2;
/// `epb_packetid`: a 64-bit id, the same for every copy of a packet seen at different places.
const EPB_PACKETID: u16 = 5;
/// LINKTYPE_ETHERNET.
const LINKTYPE_ETHERNET: u16 = 1;

/// One frame as an enhanced packet block describes it.
pub struct PacketRecord<'a> {
    /// Nanoseconds since the epoch.
    pub ts_ns: u64,
    /// The frame as captured (at most the snap length).
    pub data: &'a [u8],
    /// The frame's length on the wire.
    pub orig_len: u32,
    /// Whether the interface sent it (else it arrived there).
    pub outbound: bool,
    /// netlab's frame id (the trace's `frame`), shown by Wireshark as `frame.packet_id`.
    pub packet_id: u64,
    /// Comments, one option each (Wireshark's `frame.comment`).
    pub comments: &'a [String],
}

/// Appends option `code` with `value`, padded to 32 bits.
fn option(buf: &mut Vec<u8>, code: u16, value: &[u8]) {
    buf.extend_from_slice(&code.to_le_bytes());
    buf.extend_from_slice(&(value.len().min(u16::MAX as usize) as u16).to_le_bytes());
    buf.extend_from_slice(&value[..value.len().min(u16::MAX as usize)]);
    pad(buf);
}

fn pad(buf: &mut Vec<u8>) {
    while !buf.len().is_multiple_of(4) {
        buf.push(0);
    }
}

/// Writes a block of type `kind` whose body (after type and length) is `body`.
fn block(out: &mut dyn Write, kind: u32, body: &[u8]) -> std::io::Result<()> {
    let total = (body.len() + 12) as u32;
    out.write_all(&kind.to_le_bytes())?;
    out.write_all(&total.to_le_bytes())?;
    out.write_all(body)?;
    out.write_all(&total.to_le_bytes())
}

/// Writes the section header and the one interface (`name`, Ethernet, snap length `snaplen`,
/// nanosecond timestamps): what precedes the packets.
pub fn write_header(out: &mut dyn Write, name: &str, snaplen: u32) -> std::io::Result<()> {
    let mut b = Vec::with_capacity(64);
    b.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes()); // byte-order magic
    b.extend_from_slice(&1u16.to_le_bytes()); // version 1.0
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&(-1i64).to_le_bytes()); // section length not given
    option(&mut b, SHB_USERAPPL, b"netlab");
    option(&mut b, 0, &[]);
    block(out, SHB, &b)?;
    b.clear();
    b.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&snaplen.to_le_bytes());
    option(&mut b, IF_NAME, name.as_bytes());
    option(&mut b, IF_TSRESOL, &[9]);
    option(&mut b, 0, &[]);
    block(out, IDB, &b)
}

/// Writes one enhanced packet block (interface 0); `scratch` is reused between calls.
pub fn write_packet(out: &mut dyn Write, p: &PacketRecord<'_>, scratch: &mut Vec<u8>) -> std::io::Result<()> {
    let b = scratch;
    b.clear();
    b.extend_from_slice(&0u32.to_le_bytes()); // interface id
    b.extend_from_slice(&((p.ts_ns >> 32) as u32).to_le_bytes());
    b.extend_from_slice(&(p.ts_ns as u32).to_le_bytes());
    b.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
    b.extend_from_slice(&p.orig_len.to_le_bytes());
    b.extend_from_slice(p.data);
    pad(b);
    for c in p.comments {
        option(b, OPT_COMMENT, c.as_bytes());
    }
    option(b, EPB_FLAGS, &(if p.outbound { 2u32 } else { 1 }).to_le_bytes());
    option(b, EPB_PACKETID, &p.packet_id.to_le_bytes());
    option(b, 0, &[]);
    block(out, EPB, b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketOption;
    use pcap_file::pcapng::{Block, PcapNgReader};

    #[test]
    fn an_independent_reader_sees_our_blocks() {
        let mut out = Vec::new();
        write_header(&mut out, "l1-a", 65535).unwrap();
        let comments = vec!["dropped by loss on l1 a->b".to_string(), "retransmission (rto)".to_string()];
        let mut scratch = Vec::new();
        let rec = PacketRecord {
            ts_ns: 5_000_000_123,
            data: &[7; 61],
            orig_len: 61,
            outbound: true,
            packet_id: 42,
            comments: &comments,
        };
        write_packet(&mut out, &rec, &mut scratch).unwrap();
        assert_eq!(out.len() % 4, 0);
        let mut r = PcapNgReader::new(&out[..]).unwrap();
        let Some(Ok(Block::InterfaceDescription(idb))) = r.next_block() else { panic!("no interface block") };
        assert_eq!(idb.snaplen, 65535);
        let Some(Ok(Block::EnhancedPacket(epb))) = r.next_block() else { panic!("no packet block") };
        assert_eq!(epb.timestamp.as_nanos(), 5_000_000_123, "nanosecond resolution");
        assert_eq!(epb.data.len(), 61);
        assert_eq!(epb.original_len, 61);
        let mut seen = Vec::new();
        for o in &epb.options {
            match o {
                EnhancedPacketOption::Comment(c) => seen.push(c.to_string()),
                EnhancedPacketOption::Flags(f) => assert_eq!(*f, 2, "outbound"),
                EnhancedPacketOption::Unknown(u) => {
                    assert_eq!(u.code, EPB_PACKETID);
                    assert_eq!(u.value.as_ref(), &42u64.to_le_bytes());
                }
                other => panic!("unexpected option {other:?}"),
            }
        }
        assert_eq!(seen, comments);
        assert!(r.next_block().is_none());
    }
}
