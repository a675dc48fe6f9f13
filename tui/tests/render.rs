//! What each panel shows for a known run (scenarios/echo.toml), drawn into ratatui's TestBackend,
//! and how the keys move through it.

use netlab::trace::read::Topology;
use netlab_tui::{App, Key, Timeline};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::path::{Path, PathBuf};

/// Runs scenarios/echo.toml into a temporary directory (trace + summary) and loads it.
fn echo_timeline() -> Timeline {
    timeline_of("echo")
}

fn timeline_of(name: &str) -> Timeline {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let sc = netlab::scenario::Scenario::load(&root.join(format!("scenarios/{name}.toml"))).unwrap();
    let dir: PathBuf =
        std::env::temp_dir().join(format!("netlab-tui-test-{}-{:?}", std::process::id(), std::thread::current().id()));
    let _ = std::fs::remove_dir_all(&dir);
    let opts = netlab::scenario::BuildOptions { out_dir: Some(dir.clone()), captures: false, ..Default::default() };
    let f = netlab::run::run(&sc, &opts, None, &mut |_| {}, &|| false).unwrap();
    std::fs::write(dir.join("summary.json"), serde_json::to_vec(&f.report).unwrap()).unwrap();
    let tl = Timeline::load_run(&dir).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    tl
}

fn screen(app: &App, w: u16, h: u16) -> Vec<String> {
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    term.draw(|f| netlab_tui::ui::draw(f, app)).unwrap();
    let buf = term.backend().buffer().clone();
    (0..h).map(|y| (0..w).map(|x| buf[(x, y)].symbol().to_string()).collect()).collect()
}

fn find<'a>(lines: &'a [String], needle: &str) -> Option<&'a String> {
    lines.iter().find(|l| l.contains(needle))
}

#[test]
fn loads_the_echo_run() {
    let tl = echo_timeline();
    assert_eq!(tl.topo.scenario, "echo");
    assert_eq!(tl.conns.len(), 2, "client and server side");
    let client = tl.conns.iter().find(|c| c.id.host == "client").unwrap();
    let states: Vec<&str> = client.states.iter().map(|s| s.2.as_str()).collect();
    assert_eq!(states, ["Closed", "SynSent", "Established", "FinWait1", "FinWait2", "TimeWait", "Closed"]);
    assert!(client.segs.first().unwrap().flags.contains("SYN"));
}

#[test]
fn overview_at_80x24_follows_the_cursor() {
    let mut app = App::new(echo_timeline());
    // Before anything happened: no state yet.
    let s = screen(&app, 80, 24);
    assert!(s[0].contains("t=0.000000 s") && s[0].contains("event 0/"), "{}", s[0]);
    // The client is selected first; jump over its first two state changes: SYN-SENT, ESTABLISHED.
    app.handle(Key::Char('s'));
    app.handle(Key::Char('s'));
    let s = screen(&app, 80, 24);
    let client = find(&s, "client").expect("client row");
    assert!(client.contains("ESTABLISHED"), "{client}");
    let current = find(&s, "▶").expect("current state highlighted");
    assert!(current.contains("ESTABLISHED"), "{current}");
    // The segment panel shows the handshake, SYN first.
    let syn = s.iter().position(|l| l.contains(" out ") && l.contains("SYN")).expect("SYN row");
    let synack = s.iter().position(|l| l.contains(" in ") && l.contains("SYN|ACK")).expect("SYN|ACK row");
    assert!(syn < synack);
    // Links have counted the handshake.
    let l1 = find(&s, "l1 client>r1").expect("link row");
    let nums: Vec<&str> = l1.split("client>r1").nth(1).unwrap().split_whitespace().take(3).collect();
    assert_eq!(nums, ["3", "2", "0"], "frames sent, delivered, dropped on l1 up to the cursor: {l1}");
    // At the end the client has gone through TIME-WAIT to CLOSED.
    app.handle(Key::End);
    let s = screen(&app, 80, 24);
    assert!(find(&s, "TIME-WAIT").is_some());
    let client = find(&s, "client ").unwrap();
    assert!(client.contains("CLOSED"), "{client}");
}

#[test]
fn big_terminal_shows_every_panel() {
    let mut app = App::new(echo_timeline());
    // Just after the last echo reply, with the event log filtered to the replies.
    for k in [Key::Char('g'), Key::Char('2'), Key::Char('.'), Key::Char('3'), Key::Char('s'), Key::Enter] {
        app.handle(k);
    }
    app.handle(Key::Char('/'));
    for c in "echoes".chars() {
        app.handle(Key::Char(c));
    }
    app.handle(Key::Enter);
    let s = screen(&app, 160, 45).join("\n");
    for title in [
        "topology: links",
        "connections",
        "state timeline",
        "cwnd / ssthresh",
        "SRTT / RTO",
        "recent segments",
        "event log",
    ] {
        assert!(s.contains(title), "missing panel {title}");
    }
    assert!(s.contains("event log (filter: echoes)"));
    assert_eq!(s.matches("server echoes: ").count(), 3, "the three replies, in the filtered event log");
}

#[test]
fn small_terminal_switches_to_charts_and_event_log() {
    let mut app = App::new(echo_timeline());
    app.handle(Key::End);
    app.handle(Key::Char('v'));
    let s = screen(&app, 80, 24).join("\n");
    assert!(s.contains("cwnd / ssthresh") && s.contains("event log"));
    assert!(!s.contains("recent segments"));
}

#[test]
fn keys_step_jump_filter_and_help() {
    let mut app = App::new(echo_timeline());
    let total = app.tl.events.len();
    app.handle(Key::Right);
    app.handle(Key::Char('n'));
    assert_eq!(app.cursor, 2);
    app.handle(Key::Left);
    assert_eq!(app.cursor, 1);
    // Next state change, then previous: back where the previous state change was.
    app.handle(Key::Char('s'));
    let first = app.cursor;
    app.handle(Key::Char('s'));
    assert!(app.cursor > first);
    app.handle(Key::Char('S'));
    assert_eq!(app.cursor, first);
    // Go to a time.
    for k in [Key::Char('g'), Key::Char('2'), Key::Char('s'), Key::Enter] {
        app.handle(k);
    }
    assert!(app.now() <= 2_000_000_000 && app.tl.events[app.cursor].t > 2_000_000_000);
    // A bad time says what was expected and does not move.
    let here = app.cursor;
    for k in [Key::Char('g'), Key::Char('x'), Key::Enter] {
        app.handle(k);
    }
    assert_eq!(app.cursor, here);
    assert!(app.message.contains("expected"), "{}", app.message);
    // No retransmission in this clean run.
    app.handle(Key::Char('r'));
    assert!(app.message.contains("no later retransmission"));
    // Filter the event log.
    app.handle(Key::End);
    for k in [Key::Char('/'), Key::Char('e'), Key::Char('c'), Key::Char('h'), Key::Char('o'), Key::Enter] {
        app.handle(k);
    }
    let shown = app.log_indices(50);
    assert!(!shown.is_empty());
    assert!(shown.iter().all(|&i| app.describe(i).contains("echo")));
    // Help opens with ? and any key closes it; q quits.
    app.handle(Key::Char('?'));
    let s = screen(&app, 80, 24).join("\n");
    assert!(s.contains("keys (any key closes)") && s.contains("go to a time"));
    app.handle(Key::Char('x'));
    assert!(!app.help);
    app.handle(Key::Home);
    assert_eq!(app.cursor, 0);
    app.handle(Key::Char('q'));
    assert!(app.quit);
    assert!(total > 100);
}

#[test]
fn playback_moves_with_simulated_time() {
    let mut app = App::new(echo_timeline());
    app.handle(Key::Char(' '));
    assert!(app.playing);
    app.tick(0.15); // 150 ms of simulated time at 1x
    assert!(app.cursor > 0 && app.now() <= 150_000_000, "{}", app.now());
    app.handle(Key::Char('+'));
    assert!(app.speed > 1.0);
    app.tick(1000.0);
    assert_eq!(app.cursor, app.tl.events.len());
    assert!(!app.playing, "stops at the end");
}

#[test]
fn unknown_or_broken_input_is_an_error_not_a_panic() {
    let dir = std::env::temp_dir().join(format!("netlab-tui-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("trace.jsonl"), "{\"t\":0,\"ev\":\"link_tx\"}\nnot json\n").unwrap();
    let e = Timeline::load_run(&dir).unwrap_err();
    assert!(e.contains("line 2"), "{e}");
    let e = Timeline::load_run(&dir.join("nothing-here")).unwrap_err();
    assert!(e.contains("no such trace file"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
    // An empty topology still renders.
    let app = App::new(Timeline::new(Vec::new(), Topology::default()));
    let s = screen(&app, 80, 24).join("\n");
    assert!(s.contains("no TCP connection"));
}

#[test]
fn segments_show_what_the_links_did_to_them() {
    // handshake-loss drops the client's first SYN; the second one is a retransmission.
    let tl = timeline_of("handshake-loss");
    let client = tl.conns.iter().find(|c| c.id.host == "client").unwrap();
    let syns: Vec<_> = client.segs.iter().filter(|s| s.sent && s.flags == "SYN").collect();
    assert_eq!(syns.len(), 2);
    let end = tl.events.len();
    assert_eq!(tl.marks(syns[0], end), "DROP");
    assert_eq!(tl.marks(syns[1], end), "RETX");
    // Before the drop happened, nothing is marked yet.
    assert_eq!(tl.marks(syns[0], syns[0].idx), "");
    let mut app = App::new(tl);
    app.handle(Key::Char('r')); // to the SYN retransmission
    let s = screen(&app, 100, 30).join("\n");
    assert!(s.contains("DROP") && s.contains("RETX"), "{s}");
}

/// The inside of the panel whose title contains `title`, one line per row.
fn panel(lines: &[String], title: &str) -> String {
    let grid: Vec<Vec<char>> = lines.iter().map(|l| l.chars().collect()).collect();
    let top = lines.iter().position(|l| l.contains(title)).unwrap_or_else(|| panic!("no panel {title}"));
    let at = lines[top][..lines[top].find(title).unwrap()].chars().count();
    let left = grid[top][..at].iter().rposition(|&c| c == '┌').unwrap();
    let right = at + grid[top][at..].iter().position(|&c| c == '┐').unwrap();
    grid[top + 1..]
        .iter()
        .take_while(|l| l[left] != '└')
        .map(|l| l[left + 1..right].iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

fn go_to(app: &mut App, time: &str) {
    app.handle(Key::Char('g'));
    for c in time.chars() {
        app.handle(Key::Char(c));
    }
    app.handle(Key::Enter);
}

#[test]
fn connections_keep_the_four_tuple_and_congestion_control_at_every_size() {
    // The dumbbell's four flows differ only in addresses and ports; two use CUBIC.
    let mut app = App::new(timeline_of("dumbbell"));
    app.handle(Key::End);
    assert_eq!(app.tl.conns.len(), 8);
    for (w, h) in [(80, 24), (100, 30), (120, 36), (160, 45), (200, 60)] {
        // Each one selected in turn: the table scrolls to it.
        for c in app.tl.conns.clone() {
            let s = screen(&app, w, h);
            app.handle(Key::Down);
            let tuple = format!("{} -> {}", c.id.local, c.id.remote);
            let row = find(&s, &tuple).unwrap_or_else(|| panic!("{w}x{h}: no row with {tuple}:\n{}", s.join("\n")));
            let cc = if c.id.host == "s3" || c.id.host == "s4" { "cubic" } else { "newreno" };
            assert!(row.contains(cc), "{w}x{h}: {row}");
        }
    }
}

#[test]
fn footer_keeps_q_quit_at_80_columns() {
    let mut app = App::new(echo_timeline());
    let ends_with_quit = |app: &App| {
        let s = screen(app, 80, 24);
        s[23].trim_end().ends_with("q quit")
    };
    assert!(ends_with_quit(&app));
    app.handle(Key::Char('/'));
    for c in "a long filter that fills the whole footer line and more".chars() {
        app.handle(Key::Char(c));
    }
    app.handle(Key::Enter);
    assert!(ends_with_quit(&app));
    // While typing, q is a letter: the footer names Ctrl-C instead.
    app.handle(Key::Char('g'));
    let s = screen(&app, 80, 24);
    assert!(s[23].trim_end().ends_with("Ctrl-C quit"), "{}", s[23]);
}

#[test]
fn charts_have_legends_even_when_small() {
    let mut app = App::new(echo_timeline());
    app.handle(Key::End);
    app.handle(Key::Char('v'));
    for (w, h) in [(80, 24), (160, 45)] {
        let s = screen(&app, w, h);
        for name in ["cwnd", "ssthresh", "srtt", "rto"] {
            assert!(
                s.iter().any(|l| l.contains(&format!("│{name}"))),
                "{w}x{h}: no legend entry {name}:\n{}",
                s.join("\n")
            );
        }
    }
}

#[test]
fn timer_panel_shows_the_pending_deadlines() {
    let mut app = App::new(echo_timeline());
    // The client sent its SYN at 100 ms: the retransmission timer runs for the initial RTO, 1 s
    // (RFC 6298 2.1).
    go_to(&mut app, "120ms");
    let s = screen(&app, 80, 24);
    let timers = panel(&s, "timers");
    assert!(timers.contains("RTO") && timers.contains("1.100000 s"), "{timers}");
    assert!(timers.contains("RTO backoffs in a row: 0"), "{timers}");
    // In TIME-WAIT: its 2*MSL deadline (MSL 30 s by default) counted from entering TIME-WAIT.
    let client = app.tl.conns.iter().find(|c| c.id.host == "client").unwrap();
    let entered = client.states.iter().find(|s| s.2 == "TimeWait").unwrap().1;
    go_to(&mut app, &format!("{}ns", entered + 1));
    for (w, h) in [(80, 24), (160, 45)] {
        let timers = panel(&screen(&app, w, h), "timers");
        let line = timers.lines().find(|l| l.contains("TIME-WAIT")).unwrap_or_else(|| panic!("{w}x{h}: {timers}"));
        assert!(line.contains(&netlab_tui::fmt_t(entered + 60_000_000_000)), "{line}");
        assert!(line.contains("in 60.000s"), "{line}");
        let rto = timers.lines().any(|l| l.starts_with("RTO ") && !l.contains("backoffs"));
        assert!(!rto, "the FIN was acknowledged: no retransmission timer: {timers}");
    }
    // At the end everything has fired or been cancelled.
    app.handle(Key::End);
    assert!(panel(&screen(&app, 80, 24), "timers").contains("no timer armed"));
}

#[test]
fn timer_panel_counts_rto_backoffs() {
    // handshake-loss drops the client's first SYN: the RTO expires once, then the SYN-ACK ends it.
    let mut app = App::new(timeline_of("handshake-loss"));
    app.handle(Key::Char('r')); // to the SYN retransmission, then the timer it re-arms
    app.handle(Key::Right);
    let timers = panel(&screen(&app, 80, 24), "timers");
    assert!(timers.contains("RTO backoffs in a row: 1"), "{timers}");
    assert!(timers.contains("3.000000 s"), "re-armed for the doubled RTO, 2 s: {timers}");
    app.handle(Key::End);
    assert!(panel(&screen(&app, 80, 24), "timers").contains("RTO backoffs in a row: 0"));
}

#[test]
fn sequence_numbers_are_relative_unless_asked() {
    let mut app = App::new(echo_timeline());
    go_to(&mut app, "1s");
    let client = app.tl.conns.iter().find(|c| c.id.host == "client").unwrap().clone();
    let syn = &client.segs[0];
    let synack = client.segs.iter().find(|s| !s.sent && s.flags == "SYN|ACK").unwrap();
    let segments = |app: &App| panel(&screen(app, 100, 30), "recent segments");
    let row = |text: &str, flags: &str| -> Vec<String> {
        let l = text.lines().find(|l| l.contains(&format!(" {flags} "))).unwrap_or_else(|| panic!("{text}"));
        l.split_whitespace().map(|w| w.trim_matches('│').to_string()).filter(|w| !w.is_empty()).collect()
    };
    // time, dir, flags, seq, ack, ...: the SYN is 0, its SYN-ACK 0 acknowledging 1 (Wireshark's view).
    let text = segments(&app);
    assert!(text.contains("seq (rel)"), "{text}");
    assert_eq!(row(&text, "SYN")[3..5], ["0", "0"]);
    assert_eq!(row(&text, "SYN|ACK")[3..5], ["0", "1"]);
    app.handle(Key::Char('a'));
    let text = segments(&app);
    assert!(text.contains("seq (abs)"), "{text}");
    assert_eq!(row(&text, "SYN")[3], syn.seq.to_string());
    assert_eq!(row(&text, "SYN|ACK")[3..5], [synack.seq.to_string(), synack.ack.to_string()]);
    assert_eq!(synack.ack, syn.seq.wrapping_add(1));
}

#[test]
fn routes_view_shows_every_nodes_table() {
    let mut app = App::new(timeline_of("router-lpm"));
    let r1 = app.tl.routes.iter().find(|t| t.node == "r1").expect("r1's table from summary.json");
    assert!(r1.router && r1.routes.iter().any(|r| r.prefix == "10.1.2.0/24" && r.origin == "static"));
    // The footer names the key; t opens the view over the panels.
    assert!(screen(&app, 160, 45).last().unwrap().contains("t routes"));
    app.handle(Key::Char('t'));
    let s = screen(&app, 100, 40);
    let all = s.join("\n");
    assert!(all.contains("routes: prefix, next hop, interface, origin"), "{all}");
    assert!(find(&s, "h1 (host)").is_some() && find(&s, "r1 (router)").is_some(), "{all}");
    // r1's /24 goes to ra's address on la, as the scenario says.
    let r1_at = s.iter().position(|l| l.contains("r1 (router)")).unwrap();
    let row = s[r1_at..].iter().find(|l| l.contains("10.1.2.0/24")).unwrap_or_else(|| panic!("no /24 row:\n{all}"));
    assert!(row.contains("192.168.1.2") && row.contains(" la ") && row.contains("static"), "{row}");
    assert!(!all.contains("connections"), "the view covers the panels:\n{all}");
    // Down scrolls: the first node's heading leaves the top; Esc closes; the panels are back.
    app.handle(Key::Down);
    let s = screen(&app, 100, 40);
    assert!(find(&s, "h1 (host)").is_none(), "{}", s.join("\n"));
    app.handle(Key::Esc);
    assert!(app.routes_view.is_none());
    assert!(screen(&app, 100, 40).join("\n").contains("connections"));
    // In the help.
    app.handle(Key::Char('?'));
    assert!(screen(&app, 100, 40).join("\n").contains("routes: every node's routing table"));
}
