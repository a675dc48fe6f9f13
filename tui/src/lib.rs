//! The netlab connection-state viewer: watch a run's connections move through their states, their
//! windows open and collapse, and step to the moment a retransmission fired.
//!
//! A run is loaded whole (a scenario is run first, in-process); the viewer moves a cursor over its
//! events, forwards and backwards (the run is deterministic, so going back is the same as re-running
//! up to that point). The state here (`App`) knows nothing about terminals: key handling and drawing
//! are tested against ratatui's `TestBackend`; `main.rs` only connects it to a real terminal.

pub mod routes;
pub mod stream;
pub mod timers;
pub mod ui;
pub mod window;

use netlab::trace::read::{ConnId, TcpKind, Topology, TraceLine};
use std::borrow::Cow;
use std::path::Path;
use std::rc::Rc;

/// Binary traces with more events than this are streamed (`stream::Streamed`) rather than loaded
/// whole, unless `NETLAB_TUI_STREAM` says otherwise (`1`: always, `0`: never).
pub const STREAM_ABOVE: usize = 500_000;

/// One segment row of a connection, for the segment list.
#[derive(Debug, Clone, PartialEq)]
pub struct SegRow {
    /// Index of the event in the timeline.
    pub idx: usize,
    pub t: u64,
    pub sent: bool,
    pub flags: String,
    pub seq: u32,
    pub ack: u32,
    pub window: u16,
    pub len: usize,
    /// A retransmission (the `retransmit` event just before it).
    pub retransmit: bool,
    /// The frame it became (sent segments), to find what links did to it.
    pub frame: Option<u64>,
}

/// Everything about one connection, precomputed once, indexed by event position.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnView {
    pub id: ConnId,
    /// (event index, time, new state) for every transition.
    pub states: Vec<(usize, u64, String)>,
    /// (event index, time, cwnd, ssthresh).
    pub cwnd: Vec<(usize, u64, u32, u32)>,
    /// (event index, time, srtt ns, rto ns).
    pub rtt: Vec<(usize, u64, u64, u64)>,
    pub segs: Vec<SegRow>,
    /// Event indices of retransmitted segments (their `segment_sent`).
    pub retx: Vec<usize>,
    /// Every event index of this connection (for the event log filter "this connection").
    pub events: Vec<usize>,
    /// Its timers and RTO backoff count over time.
    pub timers: timers::Timers,
    /// This end's initial sequence number (its SYN), for relative sequence numbers.
    pub isn_local: Option<u32>,
    /// The peer's initial sequence number (its SYN).
    pub isn_remote: Option<u32>,
    /// A streamed run's byte counters: (event index, bytes sent, bytes received) after every few
    /// segments (the segments themselves are in the window around the cursor). Empty when the
    /// run is loaded whole: `segs` has every segment.
    pub bytes: Vec<(usize, u64, u64)>,
}

impl ConnView {
    /// A connection with nothing recorded yet.
    pub fn empty(id: ConnId) -> ConnView {
        ConnView {
            id,
            states: Vec::new(),
            cwnd: Vec::new(),
            rtt: Vec::new(),
            segs: Vec::new(),
            retx: Vec::new(),
            events: Vec::new(),
            timers: Default::default(),
            isn_local: None,
            isn_remote: None,
            bytes: Vec::new(),
        }
    }

    /// Adds `by` to every event index (a window's events counted from the start of the run).
    fn shift(&mut self, by: usize) {
        self.states.iter_mut().for_each(|s| s.0 += by);
        self.cwnd.iter_mut().for_each(|s| s.0 += by);
        self.rtt.iter_mut().for_each(|s| s.0 += by);
        self.segs.iter_mut().for_each(|s| s.idx += by);
        self.retx.iter_mut().for_each(|i| *i += by);
        self.events.iter_mut().for_each(|i| *i += by);
        self.bytes.iter_mut().for_each(|s| s.0 += by);
        self.timers.shift(by);
    }
}

/// A whole run, ready to view.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// Every event, when the run is loaded whole (empty when it is streamed).
    pub events: Vec<TraceLine>,
    /// A big run's trace, read by its index and in blocks around the cursor (then `events` is empty).
    pub stream: Option<Rc<stream::Streamed>>,
    pub topo: Topology,
    pub conns: Vec<ConnView>,
    /// What links did to each frame: frame id -> (event index, "DROP" / "DUP" / "CORR" / "REORD").
    pub frame_marks: std::collections::BTreeMap<u64, Vec<(usize, &'static str)>>,
    /// Each node's congestion control, by node index (from `summary.json`; empty without it).
    pub congestion: Vec<Option<String>>,
    /// Every node's routing table (from `summary.json`; empty without it).
    pub routes: Vec<routes::NodeTable>,
}

/// How many of the items (sorted by event index) happened before the cursor `n`.
fn count_before<T>(items: &[T], n: usize, idx: impl Fn(&T) -> usize) -> usize {
    items.partition_point(|x| idx(x) < n)
}

impl Timeline {
    /// A run loaded whole: every event, with the connections' views computed from them.
    pub fn new(events: Vec<TraceLine>, topo: Topology) -> Timeline {
        Timeline::new_at(events, topo, 0)
    }

    /// A timeline of `events`, the run's events from number `first` on (a window of a streamed
    /// run): every event index it reports counts from the start of the run.
    pub fn new_at(events: Vec<TraceLine>, topo: Topology, first: usize) -> Timeline {
        let ids = netlab::trace::read::connections(&events, &topo);
        let mut conns: Vec<ConnView> = ids.into_iter().map(ConnView::empty).collect();
        // (node, socket) -> position in `conns`, as a sorted vector for binary search.
        let mut index: Vec<((usize, u32), usize)> =
            conns.iter().enumerate().map(|(i, c)| ((c.id.node, c.id.socket), i)).collect();
        index.sort();
        let mut pending_retx = vec![false; conns.len()];
        for (i, e) in events.iter().enumerate() {
            let (Some(node), Some(socket), Some(kind)) = (e.node, e.socket, e.kind.as_ref()) else { continue };
            let Ok(pos) = index.binary_search_by(|(k, _)| k.cmp(&(node, socket))) else { continue };
            let ci = index[pos].1;
            let c = &mut conns[ci];
            c.events.push(i);
            match kind {
                TcpKind::StateChange { from, to } => {
                    if c.states.is_empty() {
                        c.states.push((i, e.t, from.clone()));
                    }
                    c.states.push((i, e.t, to.clone()));
                }
                TcpKind::Congestion { cwnd, ssthresh, .. } => c.cwnd.push((i, e.t, *cwnd, *ssthresh)),
                TcpKind::Rtt { srtt, rto, .. } => c.rtt.push((i, e.t, *srtt, *rto)),
                TcpKind::RtoBackoff { rto, .. } => {
                    let srtt = c.rtt.last().map_or(0, |r| r.2);
                    c.rtt.push((i, e.t, srtt, *rto));
                }
                // The segment itself follows its `retransmit` event: that is the moment to jump to.
                TcpKind::Retransmit { .. } => pending_retx[ci] = true,
                TcpKind::SegmentSent(s) | TcpKind::SegmentReceived(s) => {
                    let sent = matches!(kind, TcpKind::SegmentSent(_));
                    if s.flags.contains("SYN") {
                        let isn = if sent { &mut c.isn_local } else { &mut c.isn_remote };
                        isn.get_or_insert(s.seq);
                    }
                    let retransmit = sent && std::mem::take(&mut pending_retx[ci]);
                    if retransmit {
                        c.retx.push(i);
                    }
                    c.segs.push(SegRow {
                        idx: i,
                        t: e.t,
                        sent,
                        flags: s.flags.clone(),
                        seq: s.seq,
                        ack: s.ack,
                        window: s.window,
                        len: s.len,
                        retransmit,
                        frame: if sent { e.frame } else { None },
                    });
                }
                _ => {}
            }
        }
        for c in &mut conns {
            c.timers = timers::timers(&events, &c.events);
        }
        let mut frame_marks: std::collections::BTreeMap<u64, Vec<(usize, &'static str)>> = Default::default();
        for (i, e) in events.iter().enumerate() {
            let mark = match e.ev.as_str() {
                "link_drop" => "DROP",
                "link_duplicate" => "DUP",
                "link_corrupt" => "CORR",
                "link_reorder" => "REORD",
                _ => continue,
            };
            if let Some(f) = e.frame {
                frame_marks.entry(f).or_default().push((i + first, mark));
            }
        }
        if first > 0 {
            conns.iter_mut().for_each(|c| c.shift(first));
        }
        Timeline { events, stream: None, topo, conns, frame_marks, congestion: Vec::new(), routes: Vec::new() }
    }

    /// A big run read by its index: the connections' views come from the index, the events are
    /// read around the cursor when they are needed (`window::Window`).
    pub fn streamed(s: stream::Streamed, topo: Topology) -> Timeline {
        let conns = s.conns.iter().map(|r| stream::conn_view(r, &topo)).collect();
        Timeline {
            events: Vec::new(),
            stream: Some(Rc::new(s)),
            topo,
            conns,
            frame_marks: Default::default(),
            congestion: Vec::new(),
            routes: Vec::new(),
        }
    }

    /// How many events the run has.
    pub fn len(&self) -> usize {
        self.stream.as_ref().map_or(self.events.len(), |s| s.len())
    }

    /// Whether the run has no events.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Event `i` (read from the trace if the run is streamed).
    pub fn event(&self, i: usize) -> Option<Cow<'_, TraceLine>> {
        match &self.stream {
            Some(s) => s.event(i).map(Cow::Owned),
            None => self.events.get(i).map(Cow::Borrowed),
        }
    }

    /// How many events happen at or before time `t` (ns).
    pub fn count_until(&self, t: u64) -> usize {
        match &self.stream {
            Some(s) => s.count_until(t),
            None => self.events.partition_point(|e| e.t <= t),
        }
    }

    /// Adds what only `summary.json` says: each node's congestion control.
    pub fn with_summary(mut self, summary: &serde_json::Value) -> Timeline {
        let nodes = summary.get("nodes").and_then(|n| n.as_array()).cloned().unwrap_or_default();
        self.congestion =
            nodes.iter().map(|n| n.get("congestion").and_then(|c| c.as_str()).map(str::to_string)).collect();
        self.routes = routes::from_summary(summary);
        self
    }

    /// The congestion control of the node `node` ("newreno", "cubic"), if the summary says.
    pub fn congestion_of(&self, node: usize) -> Option<&str> {
        self.congestion.get(node).and_then(|c| c.as_deref())
    }

    /// What links had done to the frame of `seg` before the cursor `n` ("RETX" for a retransmission).
    pub fn marks(&self, seg: &SegRow, n: usize) -> String {
        let mut out: Vec<&str> = Vec::new();
        if seg.retransmit {
            out.push("RETX");
        }
        if let Some(m) = seg.frame.and_then(|f| self.frame_marks.get(&f)) {
            out.extend(m.iter().filter(|(i, _)| *i < n).map(|(_, k)| *k));
        }
        out.join(" ")
    }

    /// Loads a run directory or a trace file (`trace.nlt` or `trace.jsonl`, with `summary.json` beside
    /// it for names).
    pub fn load_run(path: &Path) -> Result<Timeline, String> {
        let (trace, summary) = netlab::trace::read::run_files(path);
        if !trace.exists() {
            return Err(format!(
                "{}: no such trace file (expected a scenario .toml, a run directory or a trace.jsonl)",
                trace.display()
            ));
        }
        let summary = match std::fs::read_to_string(&summary) {
            Ok(text) => {
                serde_json::from_str(&text).map_err(|e| format!("{}: not a netlab summary: {e}", summary.display()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::Value::Null,
            Err(e) => return Err(format!("{}: {e}", summary.display())),
        };
        Timeline::from_trace(&trace, &summary)
    }

    /// The run whose trace is the file `trace`: streamed if it is a big binary trace with the
    /// viewer's index (see `STREAM_ABOVE`), else loaded whole.
    pub fn from_trace(trace: &Path, summary: &serde_json::Value) -> Result<Timeline, String> {
        let topo = Topology::from_summary(summary);
        let tl = match Timeline::streamable(trace)? {
            Some(s) => Timeline::streamed(s, topo),
            None => Timeline::new(netlab::trace::read::read_trace(trace)?, topo),
        };
        Ok(tl.with_summary(summary))
    }

    /// The trace opened by its index, if it is to be streamed.
    fn streamable(trace: &Path) -> Result<Option<stream::Streamed>, String> {
        let force = std::env::var("NETLAB_TUI_STREAM").ok();
        if force.as_deref() == Some("0") || trace.extension().is_none_or(|e| e != "nlt") {
            return Ok(None);
        }
        let Some(s) = stream::Streamed::open(trace)? else { return Ok(None) };
        Ok((force.as_deref() == Some("1") || s.len() > STREAM_ABOVE).then_some(s))
    }

    /// Runs a scenario in-process (output in `captures/<name>/`, as `netlab run` does) and loads it.
    pub fn run_scenario(path: &Path, seed: Option<u64>) -> Result<Timeline, String> {
        let sc = netlab::scenario::Scenario::load(path).map_err(|e| e.to_string())?;
        let dir = std::path::PathBuf::from("captures").join(&sc.name);
        let opts = netlab::scenario::BuildOptions { seed, out_dir: Some(dir.clone()), ..Default::default() };
        if !sc.trace {
            return Err(format!("{}: the scenario turns its trace off (trace = false); the viewer needs it", sc.file));
        }
        let finished = netlab::run::run(&sc, &opts, None, &mut |_| {}, &|| false).map_err(|e| e.to_string())?;
        if let Some(e) = finished.output_error {
            return Err(e);
        }
        let summary = serde_json::to_value(&finished.report).map_err(|e| e.to_string())?;
        let _ = std::fs::write(dir.join("summary.json"), serde_json::to_vec_pretty(&summary).unwrap_or_default());
        Timeline::from_trace(&netlab::trace::read::run_files(&dir).0, &summary)
    }

    /// Loads whatever `path` is: a scenario (`.toml`), a run directory or a trace file.
    pub fn load(path: &Path, seed: Option<u64>) -> Result<Timeline, String> {
        if path.extension().is_some_and(|e| e == "toml") {
            Timeline::run_scenario(path, seed)
        } else {
            Timeline::load_run(path)
        }
    }

    /// The time of the last event.
    pub fn end_time(&self) -> u64 {
        self.len().checked_sub(1).and_then(|i| self.event(i)).map_or(0, |e| e.t)
    }
}

/// Per-link counters up to the cursor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkCounts {
    pub sent: u64,
    pub delivered: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub corrupted: u64,
}

/// A connection's figures at the cursor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ConnAt {
    pub state: String,
    pub bytes_sent: u64,
    pub bytes_received: u64,
    pub cwnd: Option<u32>,
    pub ssthresh: Option<u32>,
    pub srtt_ns: Option<u64>,
    pub rto_ns: Option<u64>,
    pub retransmissions: usize,
}

/// What the keyboard is typing into, if anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    None,
    /// `g`: a time to jump to.
    Goto(String),
    /// `/`: text the event log must contain.
    Filter(String),
}

/// Which panels a small terminal shows (a large one shows everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Overview,
    Charts,
}

/// The viewer's state.
pub struct App {
    pub tl: Timeline,
    /// Number of events that have happened: events[..cursor] are in the past.
    pub cursor: usize,
    pub selected: usize,
    pub playing: bool,
    /// Playback speed: simulated seconds per wall second.
    pub speed: f64,
    /// Simulated time reached by playback (between events).
    pub play_t: f64,
    pub help: bool,
    pub input: Input,
    pub filter: String,
    pub view: View,
    pub message: String,
    pub quit: bool,
    /// Sequence numbers as on the wire rather than relative to each side's ISN (key `a`).
    pub absolute_seq: bool,
    /// The routes view is open (key `t`), scrolled down by this many rows.
    pub routes_view: Option<usize>,
    /// A streamed run's events around the cursor (None when the run is loaded whole).
    pub window: Option<window::Window>,
}

/// Keys, independent of the terminal library (main.rs translates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Enter,
    Esc,
    Backspace,
    Left,
    Right,
    Up,
    Down,
    Tab,
    BackTab,
    Home,
    End,
    CtrlC,
}

pub const SPEEDS: [f64; 9] = [0.001, 0.01, 0.1, 0.25, 1.0, 4.0, 10.0, 100.0, 1000.0];

/// Every key, for the help overlay.
pub const HELP: &[(&str, &str)] = &[
    ("space", "play / pause"),
    ("+ / -", "faster / slower playback"),
    ("→ or n", "step one event forward"),
    ("← or p", "step one event back"),
    ("s / S", "next / previous state change (selected connection)"),
    ("r / R", "next / previous retransmission (selected connection)"),
    ("g", "go to a time: type e.g. 1.5s or 200ms, then Enter"),
    ("Home / End", "start / end of the run"),
    ("↑ ↓, Tab", "select a connection"),
    ("/", "filter the event log: type text, Enter (empty clears)"),
    ("a", "absolute <-> relative sequence numbers (relative: from each side's ISN)"),
    ("v", "small terminal: overview <-> charts and event log"),
    ("t", "routes: every node's routing table (↑↓ scroll, t or Esc close)"),
    ("?", "this help (any key closes it)"),
    ("q, Ctrl-C", "quit"),
];

impl App {
    pub fn new(tl: Timeline) -> App {
        App {
            tl,
            cursor: 0,
            selected: 0,
            playing: false,
            speed: 1.0,
            play_t: 0.0,
            help: false,
            input: Input::None,
            filter: String::new(),
            view: View::Overview,
            message: String::new(),
            quit: false,
            absolute_seq: false,
            routes_view: None,
            window: None,
        }
        .refreshed()
    }

    /// Loads the window around the cursor if the run is streamed and the cursor left it.
    fn refresh(&mut self) {
        if self.window.as_ref().is_none_or(|w| !w.serves(&self.tl, self.cursor)) {
            self.window = window::Window::around(&self.tl, self.cursor);
        }
    }

    fn refreshed(mut self) -> App {
        self.refresh();
        self
    }

    /// What the panels listing single events (segments, timers) show of `c`: all of it when the
    /// run is loaded whole, what the window around the cursor holds when it is streamed.
    pub fn detail<'a>(&'a self, c: &'a ConnView) -> &'a ConnView {
        self.window.as_ref().map_or(c, |w| w.conn(c))
    }

    /// What links had done to the frame of `seg` before the cursor (see `Timeline::marks`).
    pub fn marks(&self, seg: &SegRow) -> String {
        self.window.as_ref().map_or(&self.tl, |w| &w.tl).marks(seg, self.cursor)
    }

    /// Simulated time at the cursor (of the last event that happened).
    pub fn now(&self) -> u64 {
        self.cursor.checked_sub(1).and_then(|i| self.tl.event(i)).map_or(0, |e| e.t)
    }

    pub fn conn(&self) -> Option<&ConnView> {
        self.tl.conns.get(self.selected)
    }

    fn set_cursor(&mut self, n: usize) {
        self.cursor = n.min(self.tl.len());
        self.play_t = self.now() as f64;
    }

    /// Moves to just after the first event in `indices` that lies after (forward) or before
    /// (backward) the cursor.
    fn jump(&mut self, indices: &[usize], forward: bool, what: &str) {
        let target = if forward {
            indices.iter().find(|&&i| i >= self.cursor).map(|&i| i + 1)
        } else {
            indices.iter().rev().find(|&&i| i + 1 < self.cursor).map(|&i| i + 1)
        };
        match target {
            Some(n) => {
                self.set_cursor(n);
                self.message.clear();
            }
            None => self.message = format!("no {} {what}", if forward { "later" } else { "earlier" }),
        }
    }

    /// Handles one key press.
    pub fn handle(&mut self, key: Key) {
        self.handle_key(key);
        self.refresh();
    }

    fn handle_key(&mut self, key: Key) {
        if key == Key::CtrlC {
            self.quit = true;
            return;
        }
        if self.help {
            // Any key closes the help; q still quits.
            self.help = false;
            if key != Key::Char('q') {
                return;
            }
        }
        if let Some(scroll) = self.routes_view {
            // The routes view takes the keys while it is open; q still quits.
            let rows = routes::row_count(&self.tl.routes);
            self.routes_view = match key {
                Key::Char('t') | Key::Esc => None,
                Key::Char('q') => {
                    self.quit = true;
                    None
                }
                Key::Up => Some(scroll.saturating_sub(1)),
                Key::Down => Some((scroll + 1).min(rows.saturating_sub(1))),
                _ => Some(scroll),
            };
            return;
        }
        match &mut self.input {
            Input::Goto(text) | Input::Filter(text) => {
                match key {
                    Key::Char(c) => text.push(c),
                    Key::Backspace => {
                        text.pop();
                    }
                    Key::Esc => self.input = Input::None,
                    Key::Enter => {
                        let input = std::mem::replace(&mut self.input, Input::None);
                        match input {
                            Input::Goto(t) => match netlab::sim::time::parse_duration(&t) {
                                Ok(d) => {
                                    let n = self.tl.count_until(d.as_nanos());
                                    self.set_cursor(n);
                                    self.message.clear();
                                }
                                Err(e) => self.message = format!("go to: expected {e}"),
                            },
                            Input::Filter(f) => self.filter = f,
                            Input::None => {}
                        }
                    }
                    _ => {}
                }
                return;
            }
            Input::None => {}
        }
        let n = self.tl.conns.len();
        match key {
            Key::Char('q') => self.quit = true,
            Key::Char('t') => self.routes_view = Some(0),
            Key::Char('?') => self.help = true,
            Key::Char(' ') => {
                self.playing = !self.playing;
                if self.playing && self.cursor >= self.tl.len() {
                    self.set_cursor(0);
                }
                self.play_t = self.now() as f64;
            }
            Key::Char('+') | Key::Char('=') => {
                let i = SPEEDS.iter().position(|s| *s >= self.speed).unwrap_or(0);
                self.speed = SPEEDS[(i + 1).min(SPEEDS.len() - 1)];
            }
            Key::Char('-') => {
                let i = SPEEDS.iter().position(|s| *s >= self.speed).unwrap_or(0);
                self.speed = SPEEDS[i.saturating_sub(1)];
            }
            Key::Right | Key::Char('n') => self.set_cursor(self.cursor + 1),
            Key::Left | Key::Char('p') => self.set_cursor(self.cursor.saturating_sub(1)),
            Key::Home => self.set_cursor(0),
            Key::End => self.set_cursor(self.tl.len()),
            Key::Char('s') | Key::Char('S') => {
                let idx: Vec<usize> =
                    self.conn().map(|c| c.states.iter().skip(1).map(|s| s.0).collect()).unwrap_or_default();
                self.jump(&idx, key == Key::Char('s'), "state change");
            }
            Key::Char('r') | Key::Char('R') => {
                let idx = self.conn().map(|c| c.retx.clone()).unwrap_or_default();
                self.jump(&idx, key == Key::Char('r'), "retransmission");
            }
            Key::Char('a') => {
                self.absolute_seq = !self.absolute_seq;
                self.message = format!(
                    "sequence numbers: {}",
                    if self.absolute_seq { "absolute" } else { "relative (from each side's ISN)" }
                );
            }
            Key::Char('g') => self.input = Input::Goto(String::new()),
            Key::Char('/') => self.input = Input::Filter(String::new()),
            Key::Char('v') => {
                self.view = if self.view == View::Overview { View::Charts } else { View::Overview };
            }
            Key::Down | Key::Tab if n > 0 => self.selected = (self.selected + 1) % n,
            Key::Up | Key::BackTab if n > 0 => self.selected = (self.selected + n - 1) % n,
            Key::Esc => self.message.clear(),
            _ => {}
        }
    }

    /// Advances playback by `wall_secs` of real time.
    pub fn tick(&mut self, wall_secs: f64) {
        if !self.playing {
            return;
        }
        self.play_t += wall_secs * self.speed * 1e9;
        let t = self.play_t as u64;
        let n = self.tl.count_until(t);
        self.cursor = n.max(self.cursor);
        if self.cursor >= self.tl.len() {
            self.playing = false;
        }
        self.refresh();
    }

    /// Link counters up to the cursor.
    pub fn link_counts(&self) -> Vec<[LinkCounts; 2]> {
        if let Some(s) = &self.tl.stream {
            return stream_link_counts(s, self.tl.topo.links.len(), self.cursor);
        }
        let nlinks =
            self.tl.topo.links.len().max(self.tl.events.iter().filter_map(|e| e.link).max().map_or(0, |m| m + 1));
        let mut out = vec![[LinkCounts::default(), LinkCounts::default()]; nlinks];
        for e in &self.tl.events[..self.cursor] {
            let Some(l) = e.link else { continue };
            let d = usize::from(e.dir.as_deref() == Some("b->a"));
            let c = &mut out[l][d];
            match e.ev.as_str() {
                "link_tx" => c.sent += 1,
                "link_deliver" => c.delivered += 1,
                "link_drop" => c.dropped += 1,
                "link_duplicate" => c.duplicated += 1,
                "link_corrupt" => c.corrupted += 1,
                _ => {}
            }
        }
        out
    }

    /// A connection's figures at the cursor.
    pub fn conn_at(&self, c: &ConnView) -> ConnAt {
        let n = self.cursor;
        let ns = count_before(&c.states, n, |s| s.0);
        let nc = count_before(&c.cwnd, n, |s| s.0);
        let nr = count_before(&c.rtt, n, |s| s.0);
        let nseg = count_before(&c.segs, n, |s| s.idx);
        let (mut sent, mut recv) = (0u64, 0u64);
        for s in &c.segs[..nseg] {
            if s.sent {
                sent += s.len as u64;
            } else {
                recv += s.len as u64;
            }
        }
        if !c.bytes.is_empty() {
            // A streamed run: the counters at the last sample before the cursor.
            let k = count_before(&c.bytes, n, |b| b.0);
            (sent, recv) = k.checked_sub(1).map_or((0, 0), |k| (c.bytes[k].1, c.bytes[k].2));
        }
        ConnAt {
            state: if ns == 0 { "-".into() } else { c.states[ns - 1].2.clone() },
            bytes_sent: sent,
            bytes_received: recv,
            cwnd: nc.checked_sub(1).map(|i| c.cwnd[i].2),
            ssthresh: nc.checked_sub(1).map(|i| c.cwnd[i].3),
            srtt_ns: nr.checked_sub(1).map(|i| c.rtt[i].2),
            rto_ns: nr.checked_sub(1).map(|i| c.rtt[i].3),
            retransmissions: count_before(&c.retx, n, |i| *i),
        }
    }

    /// The timers of `c` armed at the cursor, soonest first.
    pub fn pending_timers<'a>(&'a self, c: &'a ConnView) -> Vec<&'a timers::TimerSpan> {
        let c = self.detail(c);
        let mut out: Vec<_> = c.timers.spans.iter().filter(|s| s.pending_at(self.cursor)).collect();
        out.sort_by_key(|s| (s.deadline, s.set_idx));
        out
    }

    /// Consecutive RTO expirations of `c` at the cursor (RFC 6298 5.5).
    pub fn backoff_at(&self, c: &ConnView) -> u32 {
        let c = self.detail(c);
        let n = count_before(&c.timers.backoff, self.cursor, |b| b.0);
        n.checked_sub(1).map_or(0, |i| c.timers.backoff[i].1)
    }

    /// A segment's (seq, ack) as shown: relative to the sender's and the receiver's ISN (as
    /// Wireshark does) unless absolute numbers were asked for or the ISN is not known. The
    /// acknowledgment field of a segment without ACK means nothing and is shown as it is.
    pub fn seq_ack(&self, c: &ConnView, sent: bool, flags: &str, seq: u32, ack: u32) -> (u32, u32) {
        if self.absolute_seq {
            return (seq, ack);
        }
        let (own, peer) = if sent { (c.isn_local, c.isn_remote) } else { (c.isn_remote, c.isn_local) };
        let peer = peer.filter(|_| flags.contains("ACK"));
        (own.map_or(seq, |i| seq.wrapping_sub(i)), peer.map_or(ack, |i| ack.wrapping_sub(i)))
    }

    /// The connection of a TCP event, if it belongs to one.
    fn conn_of(&self, e: &TraceLine) -> Option<&ConnView> {
        self.tl.conns.iter().find(|c| Some(c.id.node) == e.node && Some(c.id.socket) == e.socket)
    }

    /// One line describing event `i`, for the event log.
    pub fn describe(&self, i: usize) -> String {
        let Some(e) = self.tl.event(i) else { return String::new() };
        let e = e.as_ref();
        let node = |n: Option<usize>| n.map(|n| self.tl.topo.node_name(n)).unwrap_or_default();
        let link = |l: Option<usize>| {
            l.map(|l| self.tl.topo.links.get(l).map_or(format!("link{l}"), |x| x.0.clone())).unwrap_or_default()
        };
        let dir = e.dir.clone().unwrap_or_default();
        let body = match e.ev.as_str() {
            "tcp" => {
                let k = match e.kind.as_ref() {
                    Some(TcpKind::StateChange { from, to }) => format!("{from} -> {to}"),
                    Some(TcpKind::SegmentSent(s)) | Some(TcpKind::SegmentReceived(s)) => {
                        let sent = matches!(e.kind, Some(TcpKind::SegmentSent(_)));
                        let (seq, ack) =
                            self.conn_of(e).map_or((s.seq, s.ack), |c| self.seq_ack(c, sent, &s.flags, s.seq, s.ack));
                        let dir = if sent { "sent" } else { "recv" };
                        format!("{dir} {} seq={seq} ack={ack} win={} len={}", s.flags, s.window, s.len)
                    }
                    Some(TcpKind::Retransmit { seq, len, reason }) => {
                        format!("RETRANSMIT ({reason}) seq={seq} len={len}")
                    }
                    Some(TcpKind::TimerSet { timer, deadline }) => {
                        format!("timer {} set for {}", timers::timer_label(timer), fmt_t(*deadline))
                    }
                    Some(TcpKind::TimerFired { timer }) => format!("timer {} fired", timers::timer_label(timer)),
                    Some(TcpKind::Congestion { cwnd, ssthresh, reason }) => {
                        format!("cwnd {cwnd} ssthresh {ssthresh} ({reason})")
                    }
                    Some(TcpKind::Rtt { sample, srtt, rto, .. }) => {
                        format!("rtt sample {} srtt {} rto {}", fmt_ms(*sample), fmt_ms(*srtt), fmt_ms(*rto))
                    }
                    Some(TcpKind::RtoBackoff { rto, retries }) => {
                        format!("RTO backoff to {} (retry {retries})", fmt_ms(*rto))
                    }
                    Some(TcpKind::RecoveryStart { recover, sack }) => {
                        format!("recovery start (recover {recover}, sack {sack})")
                    }
                    Some(TcpKind::RecoveryEnd { ack }) => format!("recovery end at ack {ack}"),
                    Some(TcpKind::DsackSent { left, right }) => format!("D-SACK sent {left}-{right}"),
                    Some(TcpKind::DsackReceived { left, right }) => format!("D-SACK received {left}-{right}"),
                    Some(TcpKind::Reordering { degree, threshold }) => {
                        format!("REORDERING degree {degree} (threshold {threshold})")
                    }
                    Some(TcpKind::MarkedLost { seq, len, reo_wnd }) => {
                        format!("RACK marked lost seq={seq} len={len} (reo_wnd {})", fmt_ms(*reo_wnd))
                    }
                    Some(TcpKind::LossProbe { seq, new_data }) => {
                        format!("TAIL LOSS PROBE seq={seq} ({})", if *new_data { "new data" } else { "last segment" })
                    }
                    Some(TcpKind::Undo { reason, cwnd }) => format!("UNDO ({reason}) cwnd back to {cwnd}"),
                    Some(TcpKind::AppCall { call, result, .. }) => format!("app {call} -> {result}"),
                    Some(TcpKind::Dropped { reason }) => format!("segment dropped: {reason}"),
                    Some(TcpKind::ChallengeAck { reason }) => format!("challenge ACK: {reason}"),
                    Some(TcpKind::Error { error }) => format!("error: {error}"),
                    // A kind this viewer does not know (a newer trace): named as the trace names it.
                    Some(TcpKind::Other) | None => "tcp event of a kind this viewer does not know".into(),
                };
                format!("{} #{} {k}", node(e.node), e.socket.unwrap_or(0))
            }
            "link_tx" => format!("{} {dir} tx frame {} ({} B)", link(e.link), e.frame.unwrap_or(0), e.len.unwrap_or(0)),
            "link_deliver" => format!("{} {dir} delivered frame {}", link(e.link), e.frame.unwrap_or(0)),
            "link_drop" => format!(
                "{} {dir} DROP frame {} ({})",
                link(e.link),
                e.frame.unwrap_or(0),
                e.cause.clone().unwrap_or_default()
            ),
            "link_duplicate" => format!("{} {dir} DUPLICATE frame {}", link(e.link), e.frame.unwrap_or(0)),
            "link_reorder" => format!("{} {dir} REORDER frame {}", link(e.link), e.frame.unwrap_or(0)),
            "link_corrupt" => {
                format!("{} {dir} CORRUPT frame {} bit {}", link(e.link), e.frame.unwrap_or(0), e.bit.unwrap_or(0))
            }
            "node_drop" => format!(
                "{} drop frame {} ({})",
                node(e.node),
                e.frame.unwrap_or(0),
                e.cause.clone().unwrap_or_default()
            ),
            "app" => format!("app {}: {}", e.app.unwrap_or(0), e.line.clone().unwrap_or_default()),
            "fault" => format!("fault: {}", e.what.clone().unwrap_or_default()),
            "arp_request" => format!("{} ARP who-has {}", node(e.node), e.target.clone().unwrap_or_default()),
            "arp_reply" => format!("{} ARP reply to {}", node(e.node), e.target.clone().unwrap_or_default()),
            other => other.to_string(),
        };
        format!("{} {body}", fmt_t(e.t))
    }

    /// Indices of the event log lines to show (up to the cursor, newest last, filtered).
    pub fn log_indices(&self, max: usize) -> Vec<usize> {
        let mut out = Vec::new();
        // A streamed run: the log goes back to the start of the window.
        let lo = self.window.as_ref().map_or(0, |w| w.lo);
        for i in (lo..self.cursor).rev() {
            if out.len() >= max {
                break;
            }
            if self.filter.is_empty() || self.describe(i).contains(self.filter.as_str()) {
                out.push(i);
            }
        }
        out.reverse();
        out
    }
}

/// A streamed run's link counters over the first `n` events, for `topo_links` links or more.
fn stream_link_counts(s: &stream::Streamed, topo_links: usize, n: usize) -> Vec<[LinkCounts; 2]> {
    let counts = s.link_counts(n);
    let c = |i: usize| {
        let k = counts.get(i).copied().unwrap_or_default();
        LinkCounts { sent: k[0], delivered: k[1], dropped: k[2], duplicated: k[3], corrupted: k[4] }
    };
    (0..topo_links.max(s.links())).map(|l| [c(2 * l), c(2 * l + 1)]).collect()
}

/// Seconds with 6 decimals.
pub fn fmt_t(ns: u64) -> String {
    format!("{}.{:06}", ns / 1_000_000_000, (ns % 1_000_000_000) / 1000)
}

/// Milliseconds with 1 decimal.
pub fn fmt_ms(ns: u64) -> String {
    format!("{:.1}ms", ns as f64 / 1e6)
}

/// RFC 9293 spelling of a state as serialized ("TimeWait" -> "TIME-WAIT").
pub fn state_name(s: &str) -> String {
    netlab::trace::conn::parse_state(s)
        .map_or_else(|| s.to_string(), |st| netlab::trace::conn::state_name(st).to_string())
}
