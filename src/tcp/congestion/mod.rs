//! Congestion control behind a trait, chosen per connection (`TcpConfig::congestion`).
//!
//! The connection owns loss detection and recovery (dup ACKs, RFC 6582 NewReno recovery, RFC 6675
//! SACK recovery); the algorithm only decides cwnd and ssthresh on ACKs, on entering recovery and on
//! retransmission timeouts. All quantities are in bytes.

pub mod cubic;
mod cubic_linux;
pub mod hystart;
pub mod newreno;

use super::seq::Seq;
use super::{CongestionAlgorithm, CwndGrowth, TcpConfig};
use crate::sim::{Duration, Instant};

/// What an ACK of new data tells an algorithm besides the bytes (Linux's `struct ack_sample`).
#[derive(Debug, Clone, Copy)]
pub struct AckSample {
    /// When the ACK arrived.
    pub now: Instant,
    /// The RTT of the newest segment it newly acknowledged (cumulatively or by SACK), if that
    /// segment was never retransmitted; else the timestamp echo's sample, if any.
    pub rtt: Option<Duration>,
    /// The smoothed RTT after this ACK.
    pub srtt: Option<Duration>,
    /// SND.UNA after the ACK.
    pub snd_una: Seq,
    /// SND.NXT.
    pub snd_nxt: Seq,
}

/// One connection's congestion control algorithm: it owns cwnd and ssthresh (bytes) and updates
/// them on the events the connection reports.
pub trait CongestionControl: std::fmt::Debug {
    /// Congestion window, bytes.
    fn cwnd(&self) -> u32;
    /// Slow start threshold, bytes (`u32::MAX` until the first loss, RFC 5681 3.1).
    fn ssthresh(&self) -> u32;
    /// Set by loss recovery (NewReno window inflation / deflation, RFC 6582).
    fn set_cwnd(&mut self, cwnd: u32);
    /// Every ACK of new data, in or out of recovery, before `on_ack` (Linux's `pkts_acked`):
    /// an algorithm watching RTTs may end slow start here (ssthresh = cwnd) and say why.
    fn pkts_acked(&mut self, _sample: &AckSample) -> Option<&'static str> {
        None
    }
    /// An ACK outside of loss recovery delivered `acked` new bytes (cumulatively acknowledged,
    /// and with `CwndGrowth::Linux` also SACKed).
    fn on_ack(&mut self, now: Instant, acked: u32, flight: u32, srtt: Option<Duration>);
    /// Loss detected by duplicate ACKs / SACK: enter recovery. Sets ssthresh and cwnd = ssthresh.
    fn on_loss(&mut self, now: Instant, flight: u32);
    /// Retransmission timeout: ssthresh reduced, cwnd = loss window (1 SMSS), RFC 5681 section 3.1.
    fn on_rto(&mut self, now: Instant, flight: u32);
    /// Recovery ended on a full ACK.
    fn on_recovery_exit(&mut self, now: Instant);
    /// A reduction proved spurious: go back to `cwnd` and `ssthresh` (RFC 4015 3).
    fn undo(&mut self, now: Instant, cwnd: u32, ssthresh: u32);
    /// The SMSS changed (after the handshake).
    fn set_mss(&mut self, mss: u32);
}

/// RFC 6928: IW = min(10*MSS, max(2*MSS, 14600)) with 10 segments; generalised to `segments`.
pub fn initial_window(segments: u32, mss: u32) -> u32 {
    if segments >= 10 { (segments * mss).min((2 * mss).max(14600)) } else { segments.max(1) * mss }
}

/// The algorithm `cfg.congestion` names, for a connection whose SMSS is `mss`.
pub fn new_controller(cfg: &TcpConfig, mss: u32) -> Box<dyn CongestionControl> {
    let iw_segments = cfg.initial_window_segments;
    // RFC 5681 eq. 2 caps slow start's growth at one SMSS per ACK; Linux does not.
    let one_smss = cfg.cwnd_growth == CwndGrowth::Rfc5681;
    match cfg.congestion {
        CongestionAlgorithm::NewReno => Box::new(
            newreno::NewReno::new(mss, iw_segments).with_one_smss_per_ack(one_smss).with_halved_cwnd(!one_smss),
        ),
        CongestionAlgorithm::Cubic => {
            Box::new(cubic::Cubic::new(mss, iw_segments).with_hystart(cfg.hystart).with_one_smss_per_ack(one_smss))
        }
    }
}
