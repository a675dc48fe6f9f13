//! D-SACK, RFC 2883: the receiver reports a duplicate segment in the first SACK block of the ACK
//! it sends in answer; the sender recognises that block (section 4) and learns that the data was
//! received twice (a spurious retransmission, reordering or network duplication).

use crate::tcp::seq::Seq;

/// The D-SACK block of an ACK, if its first SACK block is one (RFC 2883 section 4 / 4.1.1): it
/// lies below the cumulative ACK, or inside the second block.
pub fn dsack_block(blocks: &[Option<(u32, u32)>; 4], ack: Seq) -> Option<(Seq, Seq)> {
    let (l, r) = blocks[0]?;
    let (l, r) = (Seq(l), Seq(r));
    if l >= r {
        return None;
    }
    let below_ack = r <= ack;
    let inside_second = blocks[1].is_some_and(|(l2, r2)| Seq(l2) <= l && r <= Seq(r2));
    (below_ack || inside_second).then_some((l, r))
}

/// The block to report for a segment [seq, end) of which [dup_from, dup_to) had been received
/// already (RFC 2883 section 4: the first block names the duplicate data of the segment that
/// triggered the ACK).
pub fn duplicate_part(seq: Seq, end: Seq, rcv_nxt_before: Seq) -> Option<(Seq, Seq)> {
    if seq >= rcv_nxt_before {
        return None;
    }
    let to = end.min(rcv_nxt_before);
    (seq < to).then_some((seq, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_below_the_ack_is_a_dsack() {
        let b = [Some((1000, 2000)), None, None, None];
        assert_eq!(dsack_block(&b, Seq(3000)), Some((Seq(1000), Seq(2000))));
        assert_eq!(dsack_block(&b, Seq(1500)), None);
    }

    #[test]
    fn a_first_block_inside_the_second_is_a_dsack() {
        let b = [Some((5000, 6000)), Some((4000, 8000)), None, None];
        assert_eq!(dsack_block(&b, Seq(1000)), Some((Seq(5000), Seq(6000))));
        let plain = [Some((9000, 9500)), Some((4000, 8000)), None, None];
        assert_eq!(dsack_block(&plain, Seq(1000)), None);
    }

    #[test]
    fn duplicate_part_is_what_lay_below_rcv_nxt() {
        assert_eq!(duplicate_part(Seq(100), Seq(200), Seq(150)), Some((Seq(100), Seq(150))));
        assert_eq!(duplicate_part(Seq(150), Seq(200), Seq(150)), None);
    }
}
