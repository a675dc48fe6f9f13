//! End to end through the whole simulator (apps, sockets, TCP, IP, ARP, routers, impaired links):
//! for 1000 seeds, a bulk transfer of a random size crosses a router over links with random loss
//! (up to 20%), reordering, duplication and corruption drawn per seed. Every byte must arrive exactly
//! once and in order (SHA-256 of sent and received data, computed by the two ends), both ends must
//! reach CLOSED, and nothing may panic. `NETLAB_E2E_SEEDS` changes the number of seeds.

use netlab::scenario::Scenario;
use netlab::sim::SimRng;

fn scenario_text(seed: u64) -> (String, String) {
    let mut r = SimRng::for_component(seed, "e2e-test-parameters");
    let loss = r.below(21) as f64 / 100.0; // 0 .. 20 %
    let reorder = r.below(11) as f64 / 100.0; // 0 .. 10 %
    let duplicate = r.below(6) as f64 / 100.0; // 0 .. 5 %
    let corrupt = r.below(4) as f64 / 100.0; // 0 .. 3 %
    let bytes = 1 + r.below(120_000);
    let cc = if r.chance(0.5) { "newreno" } else { "cubic" };
    let sack = r.chance(0.7);
    let desc = format!(
        "loss {loss}, reorder {reorder}, duplicate {duplicate}, corrupt {corrupt}, {bytes} bytes, {cc}, sack {sack}"
    );
    let text = format!(
        r#"
[simulation]
seed = {seed}
stop = "3600s"

[simulation.tcp]
congestion = "{cc}"
sack = {sack}
msl = "1s"
rto_max = "10s"
max_retransmissions = 40
max_syn_retransmissions = 40

[[hosts]]
name = "sender"

[[hosts]]
name = "receiver"

[[routers]]
name = "r1"

[[links]]
name = "l1"
a = {{ node = "sender", ip = "10.0.1.2/24" }}
b = {{ node = "r1", ip = "10.0.1.1/24" }}
delay = "2ms"
rate = "50Mbps"
queue_packets = 64

[[links]]
name = "l2"
a = {{ node = "r1", ip = "10.0.2.1/24" }}
b = {{ node = "receiver", ip = "10.0.2.2/24" }}
delay = "10ms"
jitter = "1ms"
rate = "10Mbps"
queue_packets = 32
loss = {loss}
reorder = {reorder}
reorder_delay = "3ms"
duplicate = {duplicate}
corrupt = {corrupt}

[[apps]]
name = "transfer"
kind = "bulk"
host = "sender"
to = "receiver"
bytes = {bytes}

[[expect]]
app = "transfer"
metric = "sha256_match"
equals = 1

[[expect]]
app = "transfer"
metric = "bytes_received"
equals = {bytes}

[[expect]]
description = "both ends reach CLOSED"
metric = "open_connections"
equals = 0

[[expect]]
metric = "connections"
equals = 2
"#
    );
    (text, desc)
}

#[test]
fn thousand_seeds_of_lossy_transfers_deliver_every_byte_once() {
    let seeds: u64 = std::env::var("NETLAB_E2E_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let next = std::sync::atomic::AtomicU64::new(1);
    let failures = std::sync::Mutex::new(Vec::new());
    // (lost, reordered, duplicated, corrupted, retransmissions) over all seeds: the test must really
    // exercise what it claims to.
    let seen = std::sync::Mutex::new([0u64; 5]);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let seed = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if seed > seeds {
                        break;
                    }
                    let (text, desc) = scenario_text(seed);
                    let sc = Scenario::parse("e2e.toml", &text, "e2e").expect("the test scenario is valid");
                    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        netlab::run::run_in_memory(&sc, seed).expect("builds")
                    }));
                    let problem = match outcome {
                        Err(_) => Some("PANIC".to_string()),
                        Ok(report) if !report.passed => Some(
                            report
                                .expectations
                                .iter()
                                .filter(|e| !e.passed)
                                .map(|e| format!("{} ({})", e.description, e.detail))
                                .collect::<Vec<_>>()
                                .join("; "),
                        ),
                        Ok(report) => {
                            let mut t = seen.lock().unwrap();
                            for l in &report.links {
                                for d in [&l.a_to_b, &l.b_to_a] {
                                    t[0] += d.dropped.values().sum::<u64>();
                                    t[1] += d.reordered;
                                    t[2] += d.duplicated;
                                    t[3] += d.corrupted;
                                }
                            }
                            t[4] += report.connections.iter().map(|c| c.retransmissions).sum::<u64>();
                            None
                        }
                    };
                    if let Some(p) = problem {
                        failures.lock().unwrap().push(format!("seed {seed} [{desc}]: {p}"));
                    }
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort();
    assert!(failures.is_empty(), "{} of {seeds} seeds failed:\n{}", failures.len(), failures.join("\n"));
    let [lost, reordered, duplicated, corrupted, retransmitted] = seen.into_inner().unwrap();
    eprintln!(
        "{seeds} seeds: {lost} frames lost, {reordered} reordered, {duplicated} duplicated, {corrupted} corrupted; {retransmitted} TCP retransmissions"
    );
    if seeds >= 100 {
        assert!(lost > 0 && reordered > 0 && duplicated > 0 && corrupted > 0 && retransmitted > 0);
    }
}
