//! Loss recovery beyond RFC 6675, as modern stacks do it: D-SACK (RFC 2883), RACK-TLP (RFC 8985),
//! undo of spurious window reductions (RFC 3522 / 4015 Eifel, RFC 2883 / 3708 D-SACK, RFC 5682
//! F-RTO) and Proportional Rate Reduction (RFC 6937). Each piece here is state plus the rule that
//! updates it; the connection (`connection/recovery.rs`) wires them to ACKs, sends and timers.
//!
//! - `sent`: one record per transmitted segment (send time, TSval, SACKed, lost, retransmitted),
//!   which RACK's time-based rules need;
//! - `dsack`: recognising a D-SACK block in an ACK (sender) and choosing the block to report for a
//!   duplicate (receiver);
//! - `rack`: RACK's most recently delivered segment, reordering window and its adaptation, and the
//!   reordering degree;
//! - `undo`: what a window reduction replaced, and the evidence that it was spurious;
//! - `prr`: the PRR send quota during recovery.

pub mod dsack;
pub mod prr;
pub mod rack;
pub mod sent;
pub mod undo;
