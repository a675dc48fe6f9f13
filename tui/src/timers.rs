//! A connection's timers, rebuilt from its trace events: when each was armed, for when, and what
//! ended it. The trace records `timer_set` and `timer_fired` but not a cancellation, so a timer that
//! stops without firing is ended by the event that, by the stack's rules, cancels it:
//! - the retransmission timer: an ACK of everything sent (RFC 6298 5.2), or the persist timer taking
//!   over (RFC 9293 3.8.6.1);
//! - the delayed-ACK timer: any segment sent, which carries the ACK (RFC 1122 4.2.3.2);
//! - the persist timer: a segment that opens the window again;
//! - every timer: the connection entering CLOSED.
//!
//! A timer whose deadline passes without any of these (nor firing) is taken as cancelled at its
//! deadline. The retransmission backoff count (consecutive expirations, RFC 6298 5.5) comes from
//! the `rto_backoff` events and returns to zero when an ACK advances.

use netlab::trace::read::{TcpKind, TraceLine};
use std::collections::BTreeMap;

/// What ended a timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerEnd {
    /// It expired (`timer_fired`).
    Fired,
    /// It was armed again with a new deadline.
    Rearmed,
    /// It was cancelled (inferred, see the module comment).
    Cancelled,
    /// The connection closed.
    Closed,
}

/// One arming of one timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimerSpan {
    /// The timer as the trace names it ("retransmit", "persist", "delayed_ack", "time_wait", ...).
    pub timer: String,
    /// Index of its `timer_set` event.
    pub set_idx: usize,
    /// When it was armed (ns).
    pub set_t: u64,
    /// When it expires (ns).
    pub deadline: u64,
    /// The event that ended it and how; `None`: still armed at the end of the run.
    pub end: Option<(usize, TimerEnd)>,
}

impl TimerSpan {
    /// Whether it is armed once the first `n` events have happened.
    pub fn pending_at(&self, n: usize) -> bool {
        self.set_idx < n && self.end.is_none_or(|(e, _)| e >= n)
    }
}

/// A connection's timers and its backoff count over time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timers {
    /// Every arming, in order.
    pub spans: Vec<TimerSpan>,
    /// (event index, consecutive RTO expirations from then on).
    pub backoff: Vec<(usize, u32)>,
}

impl Timers {
    /// Adds `by` to every event index (a window's events counted from the start of the run).
    pub fn shift(&mut self, by: usize) {
        for s in &mut self.spans {
            s.set_idx += by;
            if let Some(e) = s.end.as_mut() {
                e.0 += by;
            }
        }
        self.backoff.iter_mut().for_each(|b| b.0 += by);
    }
}

/// Sequence-space bookkeeping to recognise an ACK of everything sent.
#[derive(Default)]
struct SendSpace {
    isn: Option<u32>,
    /// SND.MAX - ISN: the end of what was sent.
    max: u64,
    /// The highest ACK received - ISN.
    acked: u64,
}

impl SendSpace {
    fn sent(&mut self, seq: u32, extent: usize) {
        let isn = *self.isn.get_or_insert(seq);
        self.max = self.max.max(u64::from(seq.wrapping_sub(isn)) + extent as u64);
    }
    /// Records an ACK; returns (it advanced, it covers everything sent).
    fn ack(&mut self, ack: u32) -> (bool, bool) {
        let Some(isn) = self.isn else { return (false, false) };
        let rel = u64::from(ack.wrapping_sub(isn));
        let advanced = rel > self.acked;
        self.acked = self.acked.max(rel);
        (advanced, self.max > 0 && rel >= self.max)
    }
}

/// Ends the armed `timer`, if it is, at event `i`.
fn end(out: &mut Timers, open: &mut BTreeMap<String, usize>, timer: &str, i: usize, how: TimerEnd) {
    if let Some(s) = open.remove(timer) {
        out.spans[s].end = Some((i, how));
    }
}

/// Rebuilds the timers of the connection whose events are `mine` (indices into `events`).
pub fn timers(events: &[TraceLine], mine: &[usize]) -> Timers {
    let mut out = Timers::default();
    let mut open: BTreeMap<String, usize> = BTreeMap::new();
    let mut space = SendSpace::default();
    for &i in mine {
        expire_silently(events, &mut out, &mut open, events[i].t);
        let Some(kind) = events[i].kind.as_ref() else { continue };
        match kind {
            TcpKind::TimerSet { timer, deadline } => {
                end(&mut out, &mut open, timer, i, TimerEnd::Rearmed);
                if timer == "persist" {
                    end(&mut out, &mut open, "retransmit", i, TimerEnd::Cancelled);
                }
                open.insert(timer.clone(), out.spans.len());
                out.spans.push(TimerSpan {
                    timer: timer.clone(),
                    set_idx: i,
                    set_t: events[i].t,
                    deadline: *deadline,
                    end: None,
                });
            }
            TcpKind::TimerFired { timer } => end(&mut out, &mut open, timer, i, TimerEnd::Fired),
            TcpKind::SegmentSent(s) => {
                let extent = s.len + usize::from(s.flags.contains("SYN")) + usize::from(s.flags.contains("FIN"));
                space.sent(s.seq, extent);
                end(&mut out, &mut open, "delayed_ack", i, TimerEnd::Cancelled);
            }
            TcpKind::SegmentReceived(s) => {
                if s.flags.contains("ACK") && !s.flags.contains("RST") {
                    let (advanced, all) = space.ack(s.ack);
                    if all {
                        end(&mut out, &mut open, "retransmit", i, TimerEnd::Cancelled);
                    }
                    if advanced && out.backoff.last().is_some_and(|b| b.1 > 0) {
                        out.backoff.push((i, 0));
                    }
                }
                if s.window > 0 {
                    end(&mut out, &mut open, "persist", i, TimerEnd::Cancelled);
                }
            }
            TcpKind::RtoBackoff { retries, .. } => out.backoff.push((i, *retries)),
            TcpKind::StateChange { to, .. } if to == "Closed" => {
                for (_, s) in std::mem::take(&mut open) {
                    out.spans[s].end = Some((i, TimerEnd::Closed));
                }
            }
            _ => {}
        }
    }
    expire_silently(events, &mut out, &mut open, u64::MAX);
    out
}

/// Ends the armed timers whose deadline is before `t` and which did not fire: they were cancelled
/// by then. They end at the first event of the run after the deadline.
fn expire_silently(events: &[TraceLine], out: &mut Timers, open: &mut BTreeMap<String, usize>, t: u64) {
    open.retain(|_, &mut s| {
        let span = &mut out.spans[s];
        if span.deadline >= t {
            return true;
        }
        let after = events.partition_point(|e| e.t <= span.deadline);
        if after < events.len() {
            span.end = Some((after, TimerEnd::Cancelled));
        }
        false
    });
}

/// How a timer is shown: "RTO", "TIME-WAIT", ...
pub fn timer_label(timer: &str) -> String {
    match timer {
        "retransmit" => "RTO".into(),
        "persist" => "persist".into(),
        "delayed_ack" => "delayed ACK".into(),
        "time_wait" => "TIME-WAIT".into(),
        "fin_wait2" | "fin_wait_2" => "FIN-WAIT-2".into(),
        "keepalive" => "keepalive".into(),
        other => other.replace('_', " "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlab::trace::read::parse_trace;

    /// A trace of one connection from (time, kind JSON) pairs.
    fn trace(kinds: &[(u64, &str)]) -> Vec<TraceLine> {
        let text: Vec<String> = kinds
            .iter()
            .map(|(t, k)| {
                format!(r#"{{"t":{t},"ev":"tcp","node":0,"socket":1,"local":"10.0.0.1:1","remote":"10.0.0.2:2","kind":{k}}}"#)
            })
            .collect();
        parse_trace(&text.join("\n")).unwrap()
    }

    fn all(events: &[TraceLine]) -> Timers {
        timers(events, &(0..events.len()).collect::<Vec<_>>())
    }

    #[test]
    fn an_ack_of_everything_sent_stops_the_retransmission_timer() {
        let ev = trace(&[
            (0, r#"{"event":"segment_sent","seq":100,"ack":0,"flags":"SYN","window":1,"len":0}"#),
            (0, r#"{"event":"timer_set","timer":"retransmit","deadline":1000}"#),
            (5, r#"{"event":"segment_received","seq":7,"ack":101,"flags":"SYN|ACK","window":1,"len":0}"#),
            (6, r#"{"event":"segment_sent","seq":101,"ack":8,"flags":"ACK","window":1,"len":10}"#),
            (6, r#"{"event":"timer_set","timer":"retransmit","deadline":2000}"#),
            (7, r#"{"event":"segment_received","seq":8,"ack":105,"flags":"ACK","window":1,"len":0}"#),
        ]);
        let t = all(&ev);
        assert_eq!(t.spans[0].end, Some((2, TimerEnd::Cancelled)));
        // An ACK of part of the data leaves the timer running.
        assert_eq!(t.spans[1].end, None);
        assert!(t.spans[1].pending_at(6) && !t.spans[1].pending_at(4));
    }

    #[test]
    fn fired_rearmed_closed_and_past_deadlines() {
        let ev = trace(&[
            (0, r#"{"event":"timer_set","timer":"delayed_ack","deadline":40}"#),
            (0, r#"{"event":"timer_set","timer":"keepalive","deadline":500}"#),
            (40, r#"{"event":"timer_fired","timer":"delayed_ack"}"#),
            (50, r#"{"event":"timer_set","timer":"keepalive","deadline":600}"#),
            (60, r#"{"event":"timer_set","timer":"persist","deadline":70}"#),
            (90, r#"{"event":"something_from_a_newer_netlab","x":1}"#),
            (95, r#"{"event":"timer_set","timer":"time_wait","deadline":1000}"#),
            (99, r#"{"event":"state_change","from":"TimeWait","to":"Closed"}"#),
        ]);
        let t = all(&ev);
        let ends: Vec<_> = t.spans.iter().map(|s| (s.timer.as_str(), s.end)).collect();
        assert_eq!(
            ends,
            [
                ("delayed_ack", Some((2, TimerEnd::Fired))),
                ("keepalive", Some((3, TimerEnd::Rearmed))),
                ("keepalive", Some((7, TimerEnd::Closed))),
                // Its deadline passed and it never fired: cancelled by then.
                ("persist", Some((5, TimerEnd::Cancelled))),
                ("time_wait", Some((7, TimerEnd::Closed))),
            ]
        );
    }

    #[test]
    fn backoff_counts_until_an_ack_advances() {
        let ev = trace(&[
            (0, r#"{"event":"segment_sent","seq":0,"ack":0,"flags":"SYN","window":1,"len":0}"#),
            (1, r#"{"event":"rto_backoff","rto":2,"retries":1}"#),
            (3, r#"{"event":"rto_backoff","rto":4,"retries":2}"#),
            (5, r#"{"event":"segment_received","seq":0,"ack":0,"flags":"ACK","window":1,"len":0}"#),
            (6, r#"{"event":"segment_received","seq":0,"ack":1,"flags":"SYN|ACK","window":1,"len":0}"#),
        ]);
        assert_eq!(all(&ev).backoff, [(1, 1), (2, 2), (4, 0)]);
    }
}
