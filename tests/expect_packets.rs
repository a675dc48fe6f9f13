//! Expectations that match packets and time: a metric narrowed by `match` and `at`/`between`, `never`,
//! and ordered `events`. Each check passes on a world where its fact holds and fails, saying what
//! happened instead, on one where it does not; bad ones are refused at file:line:col.

use netlab::scenario::Scenario;
use netlab::scenario::expect::ExpectResult;

/// h1 -- l1 -- r1 -- l2 -- h2; h1 pings h2 4 times, 1 s apart, then at 10 s an echo client on h1
/// sends h2 one line and closes (TIME-WAIT, 2 s long). With `black_hole`, l2 is down from the start:
/// the client's SYNs die at r1.
fn world(black_hole: bool, expects: &str) -> String {
    let mut s = String::from(
        r#"
[simulation]
seed = 1
stop = "40s"

[simulation.tcp]
max_syn_retransmissions = 3
msl = "1s"

[[hosts]]
name = "h1"

[[hosts]]
name = "h2"

[[routers]]
name = "r1"

[[links]]
name = "l1"
a = { node = "h1", ip = "10.0.1.2/24" }
b = { node = "r1", ip = "10.0.1.1/24" }
delay = "5ms"

[[links]]
name = "l2"
a = { node = "r1", ip = "10.0.2.1/24" }
b = { node = "h2", ip = "10.0.2.2/24" }
delay = "5ms"

[[apps]]
name = "ping"
kind = "ping"
host = "h1"
to = "h2"
count = 4
interval = "1s"

[[apps]]
name = "server"
kind = "echo-server"
host = "h2"

[[apps]]
name = "client"
kind = "echo-client"
host = "h1"
to = "h2"
messages = 1
start = "10s"
"#,
    );
    if black_hole {
        s.push_str("\n[[faults]]\nat = \"0s\"\nlink = \"l2\"\naction = \"down\"\n");
    }
    s.push_str(expects);
    s
}

/// The results of the world's expectations after one run.
fn results(text: &str) -> Vec<ExpectResult> {
    let sc = Scenario::parse("t.toml", text, "t").unwrap_or_else(|e| panic!("{e}"));
    netlab::run::run_in_memory(&sc, sc.seed).expect("builds").expectations
}

/// The single expectation's result.
fn one(black_hole: bool, expect: &str) -> ExpectResult {
    let r = results(&world(black_hole, expect));
    assert_eq!(r.len(), 1, "{r:?}");
    r.into_iter().next().expect("one")
}

/// The error of a scenario that must be refused.
fn refused(expect: &str) -> String {
    match Scenario::parse("t.toml", &world(false, expect), "t") {
        Ok(_) => panic!("accepted:\n{expect}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn four_pings_leave_on_a_link_once_arp_is_not_counted() {
    let pings =
        "[[expect]]\nlink = \"l1\"\ndir = \"a->b\"\nbetween = [\"0s\", \"5s\"]\nmetric = \"sent\"\nequals = 4\n";
    let all = one(false, pings);
    assert!(!all.passed, "the ARP request is a frame too: {all:?}");
    assert_eq!(all.detail, "sent = 5");
    let icmp = one(false, &pings.replace("between", "match = { protocol = \"icmp\" }\nbetween"));
    assert!(icmp.passed, "{icmp:?}");
    assert_eq!(icmp.actual, Some(4.0));
    let arp = one(
        false,
        &pings.replace("between", "match = { protocol = \"arp\" }\nbetween").replace("equals = 4", "equals = 1"),
    );
    assert!(arp.passed, "{arp:?}");
}

#[test]
fn a_match_on_addresses_tells_the_two_directions_apart() {
    let to_h2 = one(
        false,
        "[[expect]]\nlink = \"l2\"\nmatch = { protocol = \"icmp\", dst = \"h2\" }\nmetric = \"delivered\"\nequals = 4\n",
    );
    assert!(to_h2.passed, "{to_h2:?}");
    let wrong = one(
        false,
        "[[expect]]\nlink = \"l2\"\nmatch = { protocol = \"icmp\", src = \"h2\" }\nmetric = \"delivered\"\nequals = 0\n",
    );
    assert!(!wrong.passed, "h2's 4 replies cross l2: {wrong:?}");
    assert_eq!(wrong.actual, Some(4.0));
}

#[test]
fn a_window_counts_only_what_happened_in_it() {
    // Pings leave at about 0, 1, 2 and 3 s (the first after an ARP exchange of a few ms).
    let first_two = "[[expect]]\nlink = \"l1\"\ndir = \"a->b\"\nmatch = { protocol = \"icmp\" }\nbetween = [\"0s\", \"1.5s\"]\nmetric = \"sent\"\nequals = 2\n";
    assert!(one(false, first_two).passed);
    let at_two = "[[expect]]\nlink = \"l1\"\ndir = \"a->b\"\nmatch = { protocol = \"icmp\" }\nat = \"2s\"\ntolerance = \"50ms\"\nmetric = \"sent\"\nequals = 1\n";
    let r = one(false, at_two);
    assert!(r.passed, "{r:?}");
    let between_pings = "[[expect]]\nlink = \"l1\"\ndir = \"a->b\"\nat = \"2.5s\"\ntolerance = \"100ms\"\nmetric = \"sent\"\nequals = 1\n";
    let r = one(false, between_pings);
    assert!(!r.passed && r.actual == Some(0.0), "{r:?}");
    assert!(r.description.contains("between 2.400s and 2.600s"), "{}", r.description);
}

#[test]
fn node_drops_can_be_matched() {
    // With l2 down, r1 cannot resolve h2: each datagram for h2 dies there after the ARP timeout.
    let syns = "[[expect]]\nhost = \"r1\"\nmatch = { protocol = \"tcp\", flags = \"SYN\" }\nmetric = \"dropped_arp_timeout\"\nequals = 4\n";
    let r = one(true, syns);
    assert!(r.passed, "{r:?}");
    let pings =
        "[[expect]]\nhost = \"r1\"\nmatch = { protocol = \"icmp\" }\nmetric = \"dropped_arp_timeout\"\nequals = 4\n";
    assert!(one(true, pings).passed);
}

#[test]
fn a_router_that_cannot_resolve_the_next_hop_never_forwards() {
    let never_forwards = "[[expect]]\nhost = \"r1\"\nnever = { sent = { protocol = \"tcp\" } }\n";
    assert!(one(true, never_forwards).passed);
    let r = one(false, never_forwards);
    assert!(!r.passed && r.detail.starts_with("sent tcp "), "{r:?}");
    let receives = "[[expect]]\nhost = \"h2\"\nevents = [ { received = { protocol = \"tcp\", flags = \"SYN\" }, between = [\"10s\", \"10.1s\"] } ]\n";
    assert!(one(false, receives).passed);
    assert!(!one(true, receives).passed);
}

#[test]
fn the_syn_is_sent_again_after_one_two_and_four_seconds() {
    let times = r#"
[[expect]]
connection = { host = "h1", port = 7 }
events = [
  { sent = { flags = "SYN" }, at = "10s" },
  { retransmitted = { flags = "SYN" }, at = "11s", tolerance = "1ms" },
  { retransmitted = { flags = "SYN" }, at = "13s", tolerance = "1ms" },
  { retransmitted = { flags = "SYN" }, at = "17s", tolerance = "1ms" },
]
"#;
    let r = one(true, times);
    assert!(r.passed, "{r:?}");
    assert_eq!(r.detail, "in order at 10.000s, 11.000s, 13.000s, 17.000s");
    assert_eq!((r.actual, r.expected), (Some(4.0), Some(4.0)));
}

#[test]
fn a_missing_event_is_named_with_where_it_did_happen() {
    let linear = r#"
[[expect]]
connection = { host = "h1", port = 7 }
events = [
  { sent = { flags = "SYN" } },
  { retransmitted = { flags = "SYN" }, at = "11s" },
  { retransmitted = { flags = "SYN" }, at = "12s" },
]
"#;
    let r = one(true, linear);
    assert!(!r.passed);
    assert_eq!(r.actual, Some(2.0));
    assert_eq!(
        r.detail,
        "events 1-2 found at 10.000s, 11.000s; event 3 (retransmitted SYN at 12.000s) not found after them; \
         retransmitted SYN at any time: 11.000s, 13.000s, 17.000s"
    );
}

#[test]
fn events_must_come_in_the_order_given() {
    let backwards = r#"
[[expect]]
connection = { host = "h1", port = 7 }
events = [ { state = "TIME-WAIT" }, { state = "ESTABLISHED" } ]
"#;
    let r = one(false, backwards);
    assert!(!r.passed, "{r:?}");
    assert!(r.detail.starts_with("events 1-1 found at "), "{}", r.detail);
    let forwards = backwards.replace(
        "{ state = \"TIME-WAIT\" }, { state = \"ESTABLISHED\" }",
        "{ state = \"ESTABLISHED\" }, { state = \"TIME-WAIT\" }",
    );
    assert!(one(false, &forwards).passed);
}

#[test]
fn never_holds_when_nothing_happened_and_says_when_it_did() {
    let client = "[[expect]]\nconnection = { host = \"h1\", port = 7 }\n";
    let r = one(false, &format!("{client}never = {{ state = \"SYN-RECEIVED\" }}\n"));
    assert!(r.passed && r.detail == "did not happen" && r.actual == Some(0.0), "{r:?}");
    let r = one(false, &format!("{client}never = {{ state = \"TIME-WAIT\" }}\n"));
    assert!(!r.passed);
    assert!(r.detail.starts_with("entered TIME-WAIT 1 time: at 10."), "{}", r.detail);
    assert_eq!(r.actual, Some(1.0));
    // The same, outside the window it happened in, holds.
    let r = one(false, &format!("{client}never = {{ state = \"TIME-WAIT\", between = [\"0s\", \"9s\"] }}\n"));
    assert!(r.passed, "{r:?}");
    let r = one(true, &format!("{client}never = {{ received = {{}} }}\n"));
    assert!(r.passed, "nothing comes back from a black hole: {r:?}");
}

#[test]
fn states_can_be_held_to_a_window() {
    let late = "[[expect]]\nconnection = { host = \"h1\", port = 7 }\nstates = [\"ESTABLISHED\", \"TIME-WAIT\"]\nbetween = [\"10s\", \"11s\"]\n";
    assert!(one(false, late).passed);
    let early = late.replace("[\"10s\", \"11s\"]", "[\"0s\", \"9s\"]");
    assert!(!one(false, &early).passed);
}

#[test]
fn a_match_of_every_packet_counts_what_the_counters_count() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/loss.toml");
    let base = std::fs::read_to_string(path).expect("scenarios/loss.toml");
    let metrics = ["sent", "delivered", "sent_bytes", "delivered_bytes", "dropped", "dropped_loss", "dropped_queue"];
    let mut text = base.clone();
    for m in metrics {
        for narrowed in [false, true] {
            let filter = if narrowed { "match = {}\nbetween = [\"0s\", \"1h\"]\n" } else { "" };
            text.push_str(&format!("\n[[expect]]\nlink = \"l2\"\nmetric = \"{m}\"\n{filter}at_least = 0\n"));
        }
    }
    let text = text
        + "\n[[expect]]\nmetric = \"retransmissions\"\nat_least = 0\n\n[[expect]]\nmetric = \"retransmissions\"\nbetween = [\"0s\", \"1h\"]\nat_least = 0\n";
    let sc = Scenario::parse("loss.toml", &text, "loss").unwrap_or_else(|e| panic!("{e}"));
    let r = netlab::run::run_in_memory(&sc, sc.seed).expect("builds").expectations;
    let ours = &r[r.len() - 2 * metrics.len() - 2..];
    for pair in ours.chunks(2) {
        assert_eq!(pair[0].actual, pair[1].actual, "{} vs {}", pair[0].description, pair[1].description);
        assert!(
            pair[0].actual.is_some_and(|v| v > 0.0) || pair[0].metric.as_deref() == Some("dropped_queue"),
            "{pair:?}"
        );
    }
}

#[test]
fn bad_expectations_are_refused_where_they_are_written() {
    let e = refused("[[expect]]\nconnection = { host = \"h1\" }\nnever = { stat = \"TIME-WAIT\" }\n");
    assert!(e.contains("did you mean `state`"), "{e}");
    let e = refused(
        "[[expect]]\nconnection = { host = \"h1\" }\nmatch = { flags = \"SYN\" }\nmetric = \"srtt_ms\"\nat_least = 1\n",
    );
    assert!(e.starts_with("t.toml:") && e.contains("expected a metric that counts packets or events"), "{e}");
    let e = refused("[[expect]]\nlink = \"l1\"\nnever = { received = {} }\n");
    assert!(e.contains("expected an event that link l1 has (sent, delivered, dropped), found `received`"), "{e}");
    let e = refused("[[expect]]\nconnection = { host = \"h1\" }\nevents = [ { sent = {}, state = \"CLOSED\" } ]\n");
    assert!(e.contains("expected exactly one event kind") && e.contains("found sent and state"), "{e}");
    let e = refused("[[expect]]\nconnection = { host = \"h1\" }\nnever = { state = \"TIME_WAITING\" }\n");
    assert!(e.contains("expected a TCP state name"), "{e}");
    let e =
        refused("[[expect]]\nlink = \"l1\"\nmetric = \"sent\"\nat = \"1s\"\nbetween = [\"0s\", \"2s\"]\nequals = 1\n");
    assert!(e.contains("expected either `at` or `between`, not both"), "{e}");
    let e = refused("[[expect]]\nlink = \"l1\"\nmetric = \"sent\"\nbetween = [\"2s\", \"1s\"]\nequals = 1\n");
    assert!(e.contains("the earliest first"), "{e}");
    let e =
        refused("[[expect]]\nhost = \"r1\"\nmatch = { protocol = \"icmp\" }\nmetric = \"arp_requests\"\nequals = 1\n");
    assert!(e.contains("counts events about no packet"), "{e}");
    let e = refused("[[expect]]\nlink = \"l1\"\nmatch = { protocol = \"icmpp\" }\nmetric = \"sent\"\nequals = 1\n");
    assert!(e.contains("expected a protocol"), "{e}");
    let e = refused("[[expect]]\napp = \"ping\"\nmetric = \"received\"\nat = \"1s\"\nequals = 1\n");
    assert!(e.contains("expected `at`/`between` only with"), "{e}");
    let e = refused("[[expect]]\nconnection = { host = \"h1\" }\nnever = { state = \"CLOSED\" }\ntolerance = \"1s\"\n");
    assert!(e.contains("expected `tolerance` only with `at` or `between`"), "{e}");
}
