//! Measures the viewer on a run without a terminal: how long it takes to be ready (loaded and
//! drawn once) and how long each key takes (handled and the screen drawn again), then its peak
//! resident memory. A measurement to read, not a test.
//!
//!     cargo run --release -p netlab-tui --example bench_keys -- RUN_DIR [WIDTHxHEIGHT]
//!
//! `NETLAB_TUI_STREAM=0` loads the run whole (as the viewer did before it streamed), `=1` streams
//! it whatever its size. Before the keys, the connection with the most retransmissions is
//! selected (so that `r`/`R` have somewhere to go).

use netlab_tui::{App, Key, Timeline};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: bench_keys RUN_DIR [WIDTHxHEIGHT]");
        std::process::exit(2);
    };
    let (w, h) = args
        .next()
        .and_then(|s| s.split_once('x').and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?))))
        .unwrap_or((160, 48));
    let t0 = Instant::now();
    let tl = Timeline::load_run(std::path::Path::new(&dir)).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(2)
    });
    let mut app = App::new(tl);
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("a test terminal");
    draw(&mut term, &app);
    println!(
        "ready: {:.0} ms ({} events, {} connections, {})",
        ms(t0),
        app.tl.len(),
        app.tl.conns.len(),
        if app.tl.stream.is_some() { "streamed" } else { "loaded whole" }
    );
    app.selected = (0..app.tl.conns.len()).max_by_key(|&i| app.tl.conns[i].retx.len()).unwrap_or(0);
    let mut keys: Vec<(String, Vec<Key>)> = Vec::new();
    let one = |name: &str, k: Key| (name.to_string(), vec![k]);
    keys.extend((0..3).map(|_| one("→", Key::Right)));
    keys.push(one("←", Key::Left));
    keys.extend((0..3).map(|_| one("s", Key::Char('s'))));
    keys.push(one("S", Key::Char('S')));
    keys.extend((0..3).map(|_| one("r", Key::Char('r'))));
    keys.push(one("R", Key::Char('R')));
    keys.extend((0..3).map(|_| one("→", Key::Right)));
    let end = app.tl.end_time();
    for frac in [0.5, 0.25, 0.9] {
        // Typing the time (each key drawn), then Enter, which jumps: timed apart.
        let t = format!("{}ms", (end as f64 * frac / 1e6) as u64);
        let mut ks = vec![Key::Char('g')];
        ks.extend(t.chars().map(Key::Char));
        keys.push((format!("g{t} (typing)"), ks));
        keys.push((format!("g{t} Enter"), vec![Key::Enter]));
    }
    keys.push(one("s", Key::Char('s')));
    keys.push(one("End", Key::End));
    keys.push(one("R", Key::Char('R')));
    keys.push(one("Home", Key::Home));
    keys.push(one("↓", Key::Down));
    let mut worst: f64 = 0.0;
    let mut times = Vec::new();
    for (name, ks) in keys {
        let t = Instant::now();
        for k in ks {
            app.handle(k);
            draw(&mut term, &app);
        }
        let took = ms(t);
        worst = worst.max(took);
        times.push(took);
        println!(
            "key {name:<12} {took:7.1} ms  -> event {} t={} {}",
            app.cursor,
            netlab_tui::fmt_t(app.now()),
            app.message
        );
    }
    times.sort_by(f64::total_cmp);
    println!("slowest: {worst:.1} ms, median {:.1} ms (a typed time counts as one)", times[times.len() / 2]);
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    if let Some(l) = status.lines().find(|l| l.starts_with("VmHWM")) {
        println!("peak resident: {}", l.trim_start_matches("VmHWM:").trim());
    }
}

fn draw(term: &mut Terminal<TestBackend>, app: &App) {
    term.draw(|f| netlab_tui::ui::draw(f, app)).expect("drawing to a test terminal");
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}
