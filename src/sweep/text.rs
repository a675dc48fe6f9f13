//! A sweep's result for people: the failed seeds (at most a chosen number, each with the command
//! that reproduces it), the statistics of the chosen metrics, and one line of totals.

use super::result::{ExpectFailure, SweepResult};
use std::fmt::Write as _;

/// Failed seeds shown in full when nothing else is asked for.
pub const DEFAULT_SHOWN: usize = 10;
/// Seed numbers listed after the shown failures, before "...".
const LISTED: usize = 30;

/// One failed expectation in a line: "line 73: at most 20 retransmissions: retransmissions = 42 (expected <= 20)".
pub fn failure_line(f: &ExpectFailure) -> String {
    match (&f.comparison, f.expected) {
        (Some(cmp), Some(bound)) => {
            format!("line {}: {}: {} (expected {cmp} {})", f.line, f.description, f.detail, num(bound))
        }
        _ => format!("line {}: {}: {}", f.line, f.description, f.detail),
    }
}

/// A number as people write it: integers without a fraction, others with up to 6 significant digits.
pub fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The text `netlab sweep` prints: at most `shown` failed seeds in full, then the rest as a list of
/// seed numbers, the statistics, and the totals line (without a final newline).
pub fn render(r: &SweepResult, shown: usize) -> String {
    let mut s = String::new();
    let failed: Vec<_> = r.results.iter().filter(|x| !x.passed).collect();
    for f in failed.iter().take(shown) {
        let _ = writeln!(s, "seed {} FAILED (reproduce: netlab run {} --seed {})", f.seed, r.file, f.seed);
        for e in &f.failures {
            let _ = writeln!(s, "    {}", failure_line(e));
        }
        for p in &f.problems {
            let _ = writeln!(s, "    {}", p.message);
        }
    }
    if failed.len() > shown {
        let rest: Vec<String> = failed[shown..].iter().take(LISTED).map(|f| f.seed.to_string()).collect();
        let more = if failed.len() - shown > LISTED { " ..." } else { "" };
        let _ = writeln!(
            s,
            "... and {} more failed seeds (--show-failures N shows more; --json has all): {}{more}",
            failed.len() - shown,
            rest.join(" ")
        );
    }
    if !r.stats.is_empty() && r.run > 0 {
        let width = r.stats.iter().map(|x| x.name.len()).max().unwrap_or(0).max(6);
        let _ =
            writeln!(s, "{:<width$} {:>12} {:>12} {:>12} {:>12}  over seeds", "metric", "min", "median", "p95", "max");
        for st in &r.stats {
            let f = |v: Option<f64>| v.map_or("-".to_string(), num);
            let _ = writeln!(
                s,
                "{:<width$} {:>12} {:>12} {:>12} {:>12}  {} ({})",
                st.name,
                f(st.min),
                f(st.median),
                f(st.p95),
                f(st.max),
                st.seeds,
                st.about
            );
        }
    }
    let part = match r.shard {
        Some(sh) => format!(" (shard {}/{} of seeds {})", sh.index, sh.count, r.seeds),
        None => format!(" (seeds {})", r.seeds),
    };
    let early = if r.complete { "" } else { "; stopped at the first failed seed (--fail-fast)" };
    let _ = write!(
        s,
        "{}: {} seeds{part}, {} passed, {} failed{early}; {} events",
        r.scenario, r.run, r.passed, r.failed, r.events
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_naturally() {
        assert_eq!(num(42.0), "42");
        assert_eq!(num(0.125), "0.125");
        assert_eq!(num(2.0 / 3.0), "0.666667");
    }

    #[test]
    fn a_metric_failure_says_the_bound() {
        let f = ExpectFailure {
            line: 73,
            description: "at most 20 retransmissions".into(),
            metric: Some("retransmissions".into()),
            comparison: Some("<=".into()),
            expected: Some(20.0),
            actual: Some(42.0),
            detail: "retransmissions = 42".into(),
        };
        assert_eq!(failure_line(&f), "line 73: at most 20 retransmissions: retransmissions = 42 (expected <= 20)");
    }
}
