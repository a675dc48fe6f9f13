//! A streamed run (read by its index, in blocks around the cursor) shows what the same run loaded
//! whole shows: the same events at the same positions, the same connections with the same states,
//! windows, RTTs and retransmissions, the same link counters, and the keys land on the same events.
//! Run on scenarios/dumbbell.toml: eight connections and many checkpoint blocks.

use netlab::trace::read::Topology;
use netlab_tui::stream::Streamed;
use netlab_tui::{App, Key, Timeline};
use std::path::{Path, PathBuf};

/// A run directory, removed when dropped (a streamed run reads its trace until then).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs scenarios/dumbbell.toml and returns (the run loaded whole, the run streamed, its directory).
fn both() -> (Timeline, Timeline, TempDir) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let sc = netlab::scenario::Scenario::load(&root.join("scenarios/dumbbell.toml")).unwrap();
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "netlab-tui-stream-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let opts = netlab::scenario::BuildOptions { out_dir: Some(dir.clone()), captures: false, ..Default::default() };
    let f = netlab::run::run(&sc, &opts, None, &mut |_| {}, &|| false).unwrap();
    let summary = serde_json::to_value(&f.report).unwrap();
    let topo = Topology::from_summary(&summary);
    let trace = dir.join("trace.nlt");
    let whole = Timeline::new(netlab::trace::read::read_trace(&trace).unwrap(), topo.clone()).with_summary(&summary);
    let s = Streamed::open(&trace).unwrap().expect("a finished trace has the viewer's index");
    let streamed = Timeline::streamed(s, topo).with_summary(&summary);
    (whole, streamed, TempDir(dir))
}

#[test]
fn the_streamed_run_has_the_same_events_connections_and_counters() {
    let (whole, streamed, _dir) = both();
    assert!(streamed.stream.is_some() && streamed.events.is_empty());
    let n = whole.len();
    assert!(n > 5 * 4096, "several checkpoint blocks: {n} events");
    assert_eq!(streamed.len(), n);
    for i in 0..n {
        assert_eq!(streamed.event(i).unwrap().as_ref(), &whole.events[i], "event {i}");
    }
    assert!(streamed.event(n).is_none());
    for i in (0..n).step_by(997) {
        let t = whole.events[i].t;
        assert_eq!(streamed.count_until(t), whole.count_until(t), "time {t}");
        assert_eq!(streamed.count_until(t.saturating_sub(1)), whole.count_until(t.saturating_sub(1)));
    }
    assert_eq!(streamed.conns.len(), 8);
    assert_eq!(whole.conns.len(), 8);
    for (s, w) in streamed.conns.iter().zip(&whole.conns) {
        assert_eq!(s.id, w.id);
        assert_eq!((&s.states, &s.cwnd, &s.rtt, &s.retx), (&w.states, &w.cwnd, &w.rtt, &w.retx), "{}", w.id.label());
        assert_eq!((s.isn_local, s.isn_remote), (w.isn_local, w.isn_remote));
    }
    let senders = whole.conns.iter().filter(|c| !c.retx.is_empty()).count();
    assert_eq!(senders, 4, "the bottleneck's queue drops: every sender retransmits");
    let (mut ws, mut ss) = (App::new(whole), App::new(streamed));
    for cursor in (0..=n).step_by(3001).chain([n]) {
        ws.cursor = cursor;
        ss.cursor = cursor;
        assert_eq!(ss.link_counts(), ws.link_counts(), "links at {cursor}");
        for (s, w) in ss.tl.conns.iter().zip(&ws.tl.conns) {
            let (a, b) = (ss.conn_at(s), ws.conn_at(w));
            assert_eq!(
                (&a.state, a.cwnd, a.srtt_ns, a.retransmissions),
                (&b.state, b.cwnd, b.srtt_ns, b.retransmissions)
            );
        }
    }
}

#[test]
fn byte_counters_match_at_every_sample_and_at_the_end() {
    let (whole, streamed, _dir) = both();
    let (mut ws, mut ss) = (App::new(whole), App::new(streamed));
    for (s, w) in ss.tl.conns.clone().iter().zip(ws.tl.conns.clone().iter()) {
        assert!(s.bytes.len() > 10);
        for &(i, sent, recv) in &s.bytes {
            ws.cursor = i + 1;
            let at = ws.conn_at(w);
            assert_eq!((at.bytes_sent, at.bytes_received), (sent, recv), "{} at {i}", w.id.label());
        }
        ss.cursor = ss.tl.len();
        ws.cursor = ws.tl.len();
        let (a, b) = (ss.conn_at(s), ws.conn_at(w));
        assert_eq!((a.bytes_sent, a.bytes_received), (b.bytes_sent, b.bytes_received));
    }
}

#[test]
fn keys_land_on_the_same_events_streamed_or_whole() {
    let (whole, streamed, _dir) = both();
    let (mut ws, mut ss) = (App::new(whole), App::new(streamed));
    let mut keys = vec![Key::Right, Key::Right, Key::Left];
    keys.extend([Key::Char('s'); 4]);
    keys.push(Key::Char('S'));
    keys.extend([Key::Char('r'); 5]);
    keys.extend([Key::Char('R'), Key::Char('R'), Key::Down, Key::Char('r'), Key::Char('r'), Key::Tab]);
    keys.extend("g2.5s".chars().map(Key::Char));
    keys.extend([Key::Enter, Key::Char('s'), Key::End, Key::Char('R'), Key::Char('S'), Key::Home, Key::Char('r')]);
    for (k, key) in keys.into_iter().enumerate() {
        ws.handle(key);
        ss.handle(key);
        assert_eq!((ss.cursor, ss.selected, &ss.message), (ws.cursor, ws.selected, &ws.message), "key {k}: {key:?}");
        assert_eq!(ss.now(), ws.now());
        // The panels listing single events show what the whole run has in the window.
        let (sw, ww) = (ss.detail(ss.conn().unwrap()), ws.conn().unwrap());
        let lo = ss.window.as_ref().unwrap().lo;
        let in_window: Vec<_> = ww.segs.iter().filter(|s| s.idx >= lo && s.idx < ss.cursor).collect();
        let shown: Vec<_> = sw.segs.iter().filter(|s| s.idx < ss.cursor).collect();
        assert_eq!(shown, in_window, "key {k}");
        for s in &shown {
            assert_eq!(ss.marks(s), ws.marks(s));
        }
        let log = ss.log_indices(20);
        assert_eq!(
            log.iter().map(|&i| ss.describe(i)).collect::<Vec<_>>(),
            log.iter().map(|&i| ws.describe(i)).collect::<Vec<_>>()
        );
    }
}
