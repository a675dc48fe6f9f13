//! A bridge takes per-direction impairments like a link: `a_to_b` (from its node to the outside)
//! and `b_to_a` (from the outside in) override the bridge-level fields; mistakes inside them name
//! file, line and column. Only parsing: no device or socket is opened.

use netlab::net::LossModel;
use netlab::scenario::Scenario;
use netlab::sim::Duration;

const BRIDGE: &str = r#"[simulation]
stop = "1s"

[[hosts]]
name = "h1"

[[bridges]]
name = "tunnel"
kind = "udp"
node = "h1"
ip = "10.99.0.1/24"
peer = "10.99.0.2"
local = "127.0.0.1:40001"
remote = "127.0.0.1:40002"
delay = "5ms"
rate = "100Mbps"
"#;

/// The bridge's impairments, [node -> outside, outside -> node].
fn directions(extra: &str) -> [netlab::net::Impairments; 2] {
    let sc = Scenario::parse("b.toml", &format!("{BRIDGE}{extra}"), "b").expect("the scenario loads");
    let bridge = &sc.bridges[0];
    assert_eq!(sc.links[bridge.link].ends[0].0, bridge.node, "end a is the bridge's node");
    sc.links[bridge.link].params.clone()
}

#[test]
fn without_overrides_both_directions_get_the_bridge_fields() {
    let [out, inward] = directions("");
    for d in [&out, &inward] {
        assert_eq!(d.delay, Duration::from_millis(5));
        assert_eq!(d.rate_bps, Some(100_000_000));
    }
}

#[test]
fn a_to_b_and_b_to_a_override_one_direction_each() {
    let [out, inward] =
        directions("a_to_b = { reorder = 0.0685, reorder_delay = \"5ms\" }\nb_to_a = { loss = 0.01 }\n");
    assert_eq!(out.reorder, 0.0685);
    assert_eq!(out.reorder_delay, Duration::from_millis(5));
    assert!(matches!(out.loss, LossModel::None), "{:?}", out.loss);
    assert_eq!(inward.reorder, 0.0);
    assert!(matches!(inward.loss, LossModel::Bernoulli(p) if p == 0.01), "{:?}", inward.loss);
    // Fields an override does not give keep the bridge's value.
    assert_eq!((out.delay, inward.delay), (Duration::from_millis(5), Duration::from_millis(5)));
    assert_eq!((out.rate_bps, inward.rate_bps), (Some(100_000_000), Some(100_000_000)));
}

#[test]
fn an_unknown_key_in_a_direction_names_its_place() {
    let e = Scenario::parse("b.toml", &format!("{BRIDGE}a_to_b = {{ los = 0.01 }}\n"), "b").expect_err("rejected");
    assert_eq!((e.file.as_str(), e.line, e.column), ("b.toml", 17, 12), "{e}");
    assert!(e.message.contains("los"), "{e}");
}

#[test]
fn a_bad_value_in_a_direction_names_its_place() {
    let e = Scenario::parse("b.toml", &format!("{BRIDGE}b_to_a = {{ loss = 1.5 }}\n"), "b").expect_err("rejected");
    assert_eq!((e.line, e.column), (17, 19), "{e}");
    assert!(e.message.contains("probability"), "{e}");
}

#[test]
fn loss_and_burst_loss_in_one_direction_are_refused() {
    let text = format!("{BRIDGE}b_to_a = {{ loss = 0.01, burst_loss = {{ p = 0.01, r = 0.5 }} }}\n");
    let e = Scenario::parse("b.toml", &text, "b").expect_err("rejected");
    assert_eq!(e.line, 8, "{e}");
    assert!(e.message.contains("`loss` or `burst_loss`") && e.message.contains("tunnel"), "{e}");
}

#[test]
fn a_direction_that_is_not_a_table_is_refused() {
    let e = Scenario::parse("b.toml", &format!("{BRIDGE}a_to_b = 0.01\n"), "b").expect_err("rejected");
    assert_eq!(e.line, 17, "{e}");
}
