//! What narrows an expectation to single packets and times: a packet `match` (the fields packet rules
//! use), an `at` / `between` time window, and the events `never` and `events` look for
//! ("the SYN sent again at 1 s", "entered TIME-WAIT between 4.3 and 4.4 s").

use super::error::{SpanError, at};
use super::expect::Target;
use super::schema::{EventSpec, ExpectSpec, MatchSpec};
use super::suggest;
use super::validate::Names;
use super::values::Dur;
use crate::net::rules::PacketMatch;
use crate::scenario::LinkDef;
use crate::sim::{Duration, Instant};
use crate::tcp::{TcpState, flags_str};
use crate::trace::conn::{parse_state, state_name};
use toml::Spanned;

/// A time window, both ends included.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    /// The earliest time that counts.
    pub from: Instant,
    /// The latest time that counts.
    pub to: Instant,
}

impl Window {
    /// Whether `t` lies in the window.
    pub fn contains(&self, t: Instant) -> bool {
        self.from <= t && t <= self.to
    }
    /// "at 1.000s", "between 4.300s and 4.400s".
    pub fn describe(&self) -> String {
        if self.from == self.to {
            format!("at {}", secs(self.from))
        } else {
            format!("between {} and {}", secs(self.from), secs(self.to))
        }
    }
}

/// A time as "1.250s".
pub fn secs(t: Instant) -> String {
    format!("{:.3}s", t.as_secs_f64())
}

/// What narrows a metric or a `states` check: which packets, and when.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Only packets (and events about packets) that match.
    pub matcher: Option<PacketMatch>,
    /// Only what happened in this window.
    pub window: Option<Window>,
}

impl Filter {
    /// Whether nothing narrows.
    pub fn is_empty(&self) -> bool {
        self.matcher.is_none() && self.window.is_none()
    }
}

/// The kind of event `never` and `events` look for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EventKind {
    /// A connection sent a segment; a link accepted a frame; a node put a frame on a link.
    Sent,
    /// A connection received a segment; a node received a frame.
    Received,
    /// A connection sent a segment again (any reason but a window probe).
    Retransmitted,
    /// A link delivered a frame.
    Delivered,
    /// A link or node dropped a frame.
    Dropped,
    /// A connection entered this state.
    State(TcpState),
}

/// One event an expectation looks for.
#[derive(Debug, Clone, PartialEq)]
pub struct EventPat {
    /// The kind.
    pub kind: EventKind,
    /// The packet it is about must match this (`PacketMatch::default()` matches every packet).
    pub matcher: PacketMatch,
    /// When it must happen.
    pub window: Option<Window>,
    /// In words, for reports: "sent SYN at 1.000s".
    pub text: String,
    /// The same without the window: "sent SYN".
    pub what: String,
}

impl EventPat {
    /// Whether a `kind` event at `t` fits this pattern's kind and window (the packet aside).
    pub fn fits(&self, kind: EventKind, t: Instant) -> bool {
        kind == self.kind && self.window.is_none_or(|w| w.contains(t))
    }
}

/// The metrics each target can count with a `match` or a time window, with whether a `match` applies
/// (events that are about no packet, like an ARP request counted at a node, take a window only).
pub fn countable(target: &Target) -> &'static [(&'static str, bool)] {
    match target {
        Target::Link(..) => &[
            ("sent", true),
            ("delivered", true),
            ("sent_bytes", true),
            ("delivered_bytes", true),
            ("dropped", true),
            ("dropped_queue", true),
            ("dropped_loss", true),
            ("dropped_down", true),
            ("dropped_mtu", true),
            ("dropped_fault", true),
            ("duplicated", true),
            ("reordered", true),
            ("corrupted", true),
        ],
        Target::Host(_) => &[
            ("dropped", true),
            ("dropped_malformed", true),
            ("dropped_bad_ip_checksum", true),
            ("dropped_bad_checksum", true),
            ("dropped_not_for_us", true),
            ("dropped_not_forwarding", true),
            ("dropped_no_route", true),
            ("dropped_ttl_expired", true),
            ("dropped_too_big", true),
            ("dropped_arp_timeout", true),
            ("dropped_arp_queue_full", true),
            ("dropped_no_listener", true),
            ("dropped_unsupported", true),
            ("rsts_sent", true),
            ("icmp_errors_sent", false),
            ("time_exceeded_sent", false),
            ("unreachable_sent", false),
            ("arp_requests", false),
            ("arp_replies", false),
        ],
        Target::Connection(..) => &[
            ("segments_sent", true),
            ("segments_received", true),
            ("bytes_sent", true),
            ("bytes_received", true),
            ("retransmissions", true),
            ("retransmissions_rto", true),
            ("retransmissions_fast", true),
            ("retransmissions_sack", true),
            ("window_probes", true),
            ("rsts_sent", true),
            ("rsts_received", true),
        ],
        Target::Network => &[("retransmissions", true), ("rsts_sent", true), ("dropped", true)],
        Target::App(_) => &[],
    }
}

/// The `match`, `at`, `between` and `tolerance` of an `[[expect]]`, checked against its target and
/// check (`metric`: the metric it counts, if it is a metric check).
pub(crate) fn filter(
    s: &ExpectSpec,
    span: std::ops::Range<usize>,
    target: &Target,
    metric: Option<&Spanned<String>>,
    names: &Names,
    links: &[LinkDef],
) -> Result<Filter, SpanError> {
    let window = window(&s.at, &s.between, &s.tolerance)?;
    let matcher = s.matcher.as_ref().map(|m| packet_match(m, names, links)).transpose()?;
    if matches!(target, Target::App(_)) {
        if let Some(m) = &s.matcher {
            return at(
                m.span(),
                "expected `match` only with `link`, `host`, `connection` or no target (an app has no packets)",
            );
        }
        if window.is_some() {
            return at(
                when_span(s).unwrap_or(span),
                "expected `at`/`between` only with `link`, `host`, `connection` or no target",
            );
        }
    }
    if let Some(m) = metric
        && (window.is_some() || matcher.is_some())
    {
        let allowed = countable(target);
        let name = m.get_ref().as_str();
        let with_match: Vec<&str> = allowed.iter().filter(|(_, p)| *p).map(|(n, _)| *n).collect();
        match allowed.iter().find(|(n, _)| *n == name) {
            None => {
                let all = allowed.iter().map(|(n, _)| *n);
                let msg = format!(
                    "expected a metric that counts packets or events ({}), found \"{name}\"{}: only those can be narrowed by `match`, `at` or `between`",
                    all.clone().collect::<Vec<_>>().join(", "),
                    suggest::did_you_mean(name, all)
                );
                return at(m.span(), msg);
            }
            Some((_, false)) if matcher.is_some() => {
                let msg = format!(
                    "expected a metric that counts packets with `match` ({}); \"{name}\" counts events about no packet (a time window applies)",
                    with_match.join(", ")
                );
                return at(m.span(), msg);
            }
            Some(_) => {}
        }
    }
    if (window.is_some() || matcher.is_some()) && metric.is_none() && s.states.is_none() {
        if s.never.is_some() || s.events.is_some() {
            if let Some(m) = &s.matcher {
                return at(
                    m.span(),
                    "expected the packet to match inside the event (`sent = { flags = \"SYN\" }`), not as `match` next to `never`/`events`",
                );
            }
        } else {
            let place = s.matcher.as_ref().map(|m| m.span()).or_else(|| when_span(s)).unwrap_or(span);
            return at(place, "expected `match`/`at`/`between` only with `metric`, `states`, `never` or `events`");
        }
    }
    if s.states.is_some()
        && let Some(m) = &s.matcher
    {
        return at(
            m.span(),
            "expected no `match` with `states` (a state change is not a packet); `at`/`between` apply",
        );
    }
    Ok(Filter { matcher, window })
}

fn when_span(s: &ExpectSpec) -> Option<std::ops::Range<usize>> {
    s.at.as_ref().map(|a| a.span()).or_else(|| s.between.as_ref().map(|b| b.span()))
}

/// `at` (give or take `tolerance`) or `between` (widened by `tolerance`), or neither.
pub(crate) fn window(
    at_t: &Option<Spanned<Dur>>,
    between: &Option<Spanned<[Dur; 2]>>,
    tolerance: &Option<Spanned<Dur>>,
) -> Result<Option<Window>, SpanError> {
    let tol = tolerance.as_ref().map_or(Duration::ZERO, |t| t.get_ref().0);
    let start = |d: Duration| Instant::ZERO + d;
    match (at_t, between) {
        (Some(_), Some(b)) => at(b.span(), "expected either `at` or `between`, not both"),
        (Some(a), None) => {
            let t = a.get_ref().0;
            Ok(Some(Window { from: start(t.saturating_sub(tol)), to: start(t + tol) }))
        }
        (None, Some(b)) => {
            let [lo, hi] = b.get_ref();
            if lo.0 > hi.0 {
                return at(b.span(), "expected `between = [earliest, latest]`, the earliest first");
            }
            Ok(Some(Window { from: start(lo.0.saturating_sub(tol)), to: start(hi.0 + tol) }))
        }
        (None, None) => match tolerance {
            Some(t) => at(t.span(), "expected `tolerance` only with `at` or `between`"),
            None => Ok(None),
        },
    }
}

fn packet_match(m: &Spanned<MatchSpec>, names: &Names, links: &[LinkDef]) -> Result<PacketMatch, SpanError> {
    let pm = super::validate::faults::validate_match(m.get_ref(), names, links)?;
    if pm.after.is_some() {
        return at(m.span(), "expected `at` or `between` for times in an expectation, not `after` in its `match`");
    }
    Ok(pm)
}

/// The kinds of event each target has, by key.
fn kinds_of(target: &Target) -> &'static [&'static str] {
    match target {
        Target::Connection(..) => &["sent", "received", "retransmitted", "state"],
        Target::Link(..) => &["sent", "delivered", "dropped"],
        Target::Host(_) => &["sent", "received", "dropped"],
        Target::Network => &["dropped"],
        Target::App(_) => &[],
    }
}

/// One entry of `never` or `events`, checked against the target.
pub(crate) fn event_pat(
    e: &Spanned<EventSpec>,
    target: &Target,
    target_name: &str,
    names: &Names,
    links: &[LinkDef],
) -> Result<EventPat, SpanError> {
    let s = e.get_ref();
    let packet = [
        ("sent", &s.sent, EventKind::Sent),
        ("received", &s.received, EventKind::Received),
        ("retransmitted", &s.retransmitted, EventKind::Retransmitted),
        ("delivered", &s.delivered, EventKind::Delivered),
        ("dropped", &s.dropped, EventKind::Dropped),
    ];
    let given: Vec<&str> = packet
        .iter()
        .filter(|(_, m, _)| m.is_some())
        .map(|(k, _, _)| *k)
        .chain(s.state.as_ref().map(|_| "state"))
        .collect();
    let allowed = kinds_of(target);
    if given.len() != 1 {
        let msg = format!(
            "expected exactly one event kind in each event of {target_name}: {} (e.g. {{ sent = {{ flags = \"SYN\" }} }} or {{ state = \"TIME-WAIT\" }}){}",
            allowed.join(", "),
            if given.is_empty() { String::new() } else { format!(", found {}", given.join(" and ")) }
        );
        return at(e.span(), msg);
    }
    if !allowed.contains(&given[0]) {
        let msg = format!(
            "expected an event that {target_name} has ({}), found `{}`{}",
            allowed.join(", "),
            given[0],
            if allowed.is_empty() { " (an app has no events to check)".to_string() } else { String::new() }
        );
        return at(e.span(), msg);
    }
    let window = window(&s.at, &s.between, &s.tolerance)?;
    let (kind, matcher) = match &s.state {
        Some(st) => match parse_state(st.get_ref()) {
            Some(x) => (EventKind::State(x), PacketMatch::default()),
            None => {
                let msg = format!(
                    "expected a TCP state name such as \"ESTABLISHED\" or \"TIME-WAIT\", found \"{}\"",
                    st.get_ref()
                );
                return at(st.span(), msg);
            }
        },
        None => {
            let (_, m, kind) = packet.iter().find(|(_, m, _)| m.is_some()).expect("one kind is given");
            (*kind, packet_match(m.as_ref().expect("given"), names, links)?)
        }
    };
    let what = match kind {
        EventKind::State(x) => format!("entered {}", state_name(x)),
        _ => format!("{} {}", given[0], describe(&matcher)),
    };
    let text = match &window {
        Some(w) => format!("{what} {}", w.describe()),
        None => what.clone(),
    };
    Ok(EventPat { kind, matcher, window, text, what })
}

/// A packet match in words: "tcp from 10.0.0.1 SYN without ACK, 0 bytes".
pub fn describe(m: &PacketMatch) -> String {
    let mut parts = Vec::new();
    if let Some(p) = m.protocol {
        parts.push(format!("{p:?}").to_ascii_lowercase());
    }
    if let Some(a) = m.src {
        parts.push(format!("from {a}"));
    }
    if let Some(a) = m.dst {
        parts.push(format!("to {a}"));
    }
    if let Some(p) = m.src_port {
        parts.push(format!("sport {p}"));
    }
    if let Some(p) = m.dst_port {
        parts.push(format!("dport {p}"));
    }
    if let Some(f) = m.flags {
        parts.push(flags_str(f));
    }
    if let Some(f) = m.not_flags {
        parts.push(format!("without {}", flags_str(f)));
    }
    match (m.min_len, m.max_len) {
        (Some(a), Some(b)) if a == b && a > 0 => parts.push(format!("{a} bytes")),
        (Some(a), Some(b)) => parts.push(format!("{a}-{b} bytes")),
        (Some(a), None) => parts.push(format!(">= {a} bytes")),
        (_, Some(0)) => parts.push("no payload".to_string()),
        (None, Some(b)) => parts.push(format!("<= {b} bytes")),
        (None, None) => {}
    }
    if let Some((a, b)) = m.rel_seq {
        parts.push(if a == b { format!("seq {a}") } else { format!("seq {a}-{b}") });
    }
    if parts.is_empty() { "any packet".to_string() } else { parts.join(" ") }
}
