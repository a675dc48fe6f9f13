//! Bad scenario files give errors that name file, line and column and say what was expected; no input
//! makes netlab panic.

use netlab::scenario::Scenario;
use proptest::prelude::*;

const GOOD: &str = r#"
[simulation]
seed = 3

[[hosts]]
name = "h1"

[[hosts]]
name = "h2"

[[links]]
name = "l1"
a = { node = "h1", ip = "10.0.0.1/24" }
b = { node = "h2", ip = "10.0.0.2/24" }
delay = "1ms"

[[apps]]
kind = "ping"
host = "h1"
to = "h2"
count = 2

[[expect]]
app = "ping-1"
metric = "received"
equals = 2
"#;

fn err(text: &str) -> netlab::scenario::ScenarioError {
    Scenario::parse("s.toml", text, "s").expect_err("should be rejected")
}

#[test]
fn good_scenario_parses() {
    let sc = Scenario::parse("s.toml", GOOD, "s").unwrap();
    assert_eq!(sc.nodes.len(), 2);
    assert_eq!(sc.expects[0].line, 23);
}

#[test]
fn unknown_field_is_rejected_with_position() {
    let e = err(&GOOD.replace("delay = \"1ms\"", "delay = \"1ms\"\nlatency = \"2ms\""));
    assert_eq!((e.file.as_str(), e.line), ("s.toml", 16), "{e}");
    assert!(e.message.contains("latency"), "{e}");
    assert!(e.to_string().starts_with("s.toml:16:"), "{e}");
}

#[test]
fn bad_values_say_what_was_expected() {
    let e = err(&GOOD.replace("delay = \"1ms\"", "delay = \"1 fortnight\""));
    assert_eq!(e.line, 15, "{e}");
    assert_eq!(e.column, 9, "{e}");
    assert!(e.message.contains("duration"), "{e}");

    let e = err(&GOOD.replace("delay = \"1ms\"", "loss = 1.5"));
    assert!(e.message.contains("probability"), "{e}");

    let e = err(&GOOD.replace("\"10.0.0.2/24\"", "\"10.0.0.2/33\""));
    assert_eq!(e.line, 14, "{e}");
    assert!(e.message.contains("prefix length"), "{e}");
}

#[test]
fn semantic_errors_point_at_the_name() {
    let e = err(&GOOD.replace("b = { node = \"h2\"", "b = { node = \"h9\""));
    assert_eq!((e.line, e.column), (14, 14), "{e}");
    assert!(e.message.contains("\"h9\" is not defined"), "{e}");

    let e = err(&GOOD.replace("to = \"h2\"", "to = \"nobody\""));
    assert_eq!(e.line, 20, "{e}");

    let e = err(&GOOD.replace("name = \"h2\"", "name = \"h1\""));
    assert!(e.message.contains("defined twice"), "{e}");

    let e = err(&GOOD.replace("\"10.0.0.2/24\"", "\"10.0.1.2/24\""));
    assert!(e.message.contains("one subnet"), "{e}");

    let e = err(&GOOD.replace("metric = \"received\"", "metric = \"received\"\nat_most = 3"));
    assert!(e.message.contains("either `equals`"), "{e}");

    let e = err(&GOOD.replace("count = 2", "count = 2\nmax_hops = 3"));
    assert!(e.message.contains("does not apply"), "{e}");
}

#[test]
fn syntax_errors_have_positions() {
    let e = err("[simulation]\nseed = = 3\n");
    assert_eq!(e.line, 2, "{e}");
    let e = err("");
    assert!(e.message.contains("simulation"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]
    /// Arbitrary edits of a good file never panic: they parse or give a positioned error.
    #[test]
    fn mutated_scenarios_never_panic(pos in 0usize..GOOD.len(), cut in 0usize..40, insert in "[ -~\n]{0,12}") {
        let mut text = GOOD.to_string();
        let pos = (0..=pos).rev().find(|p| text.is_char_boundary(*p)).unwrap_or(0);
        let end = (pos + cut).min(text.len());
        let end = (end..=text.len()).find(|p| text.is_char_boundary(*p)).unwrap_or(text.len());
        text.replace_range(pos..end, &insert);
        match Scenario::parse("m.toml", &text, "m") {
            Ok(sc) => { let _ = sc.build(&Default::default(), None); }
            Err(e) => prop_assert!(e.line >= 1 && e.column >= 1, "{}", e),
        }
    }

    /// Arbitrary bytes as a scenario never panic.
    #[test]
    fn random_text_never_panics(text in "\\PC{0,200}") {
        let _ = Scenario::parse("r.toml", &text, "r");
    }
}
