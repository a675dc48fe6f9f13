//! Measures opening a binary trace by its index and reading the events around a point, as a
//! streaming viewer would: `cargo run --release --example trace_index -- captures/dumbbell/trace.nlt`.
//! Prints the time to open the index, to read a block in the middle and at the end, and the
//! resident memory afterwards.

use netlab::trace::binary::index::Index;
use std::time::Instant;

fn rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: trace_index <trace.nlt>");
        std::process::exit(2);
    };
    let t0 = Instant::now();
    let ix = match Index::read(std::path::Path::new(&path)) {
        Ok(Some(ix)) => ix,
        Ok(None) => {
            eprintln!("{path}: no index (the run did not finish)");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let open = t0.elapsed();
    println!("{} events, {} checkpoints; index read in {:.1} ms", ix.events, ix.checkpoints.len(), ms(open));
    for (what, event) in [("middle", ix.events / 2), ("end", ix.events.saturating_sub(1)), ("start", 0)] {
        let t = Instant::now();
        let b = ix.block_of_event(event);
        let events = ix.read_block(b).expect("block reads");
        println!("block {b} ({what}): {} events read in {:.1} ms", events.len(), ms(t.elapsed()));
    }
    println!("peak resident: {:.0} MB", rss_mb());
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
