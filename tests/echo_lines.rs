//! The echo client of the classic lab types its own lines (`lines = [...]`), and the server's
//! replies are checked line by line; bad `lines` are refused with the place and the reason.

use netlab::scenario::Scenario;

fn scenario(client_fields: &str) -> String {
    format!(
        r#"
[simulation]
stop = "60s"
[[hosts]]
name = "client"
[[hosts]]
name = "server"
[[links]]
name = "l1"
a = {{ node = "client", ip = "10.0.1.2/24" }}
b = {{ node = "server", ip = "10.0.1.3/24" }}
delay = "5ms"
loss = 0.2
[[apps]]
name = "server"
kind = "echo-server"
host = "server"
[[apps]]
name = "client"
kind = "echo-client"
host = "client"
to = "server"
{client_fields}
"#
    )
}

#[test]
fn the_client_sends_the_given_lines_and_checks_every_reply() {
    let text = scenario(r#"lines = ["hello", "ping from h1", "a b  c", "bye"]"#);
    let sc = Scenario::parse("echo-lines.toml", &text, "echo-lines").expect("valid");
    for seed in 1..=5 {
        let report = netlab::run::run_in_memory(&sc, seed).expect("runs");
        let client = report.apps.iter().find(|a| a.name == "client").expect("the client ran");
        assert!(client.finished && client.error.is_none(), "seed {seed}: {client:?}");
        let replies: Vec<&str> =
            client.output.iter().map(String::as_str).filter(|l| l.starts_with("server echoes: ")).collect();
        assert_eq!(
            replies,
            ["server echoes: hello", "server echoes: ping from h1", "server echoes: a b  c", "server echoes: bye"],
            "seed {seed} (20% loss: replies arrive whole and in order anyway)"
        );
        assert_eq!(client.metrics.get("messages"), Some(&4.0));
        assert_eq!(client.metrics.get("correct_replies"), Some(&4.0));
    }
}

#[test]
fn bad_lines_are_refused_with_place_and_reason() {
    for (fields, want) in [
        (r#"lines = []"#, "expected at least one line"),
        ("lines = [\"one\\ntwo\"]", "without a newline"),
        (
            r#"lines = ["x"]
messages = 2"#,
            "either `lines` or `messages`",
        ),
        (r#"lines = "hello""#, "sequence"),
    ] {
        let e = Scenario::parse("echo-lines.toml", &scenario(fields), "x").expect_err("refused").to_string();
        assert!(e.contains("echo-lines.toml:") && e.contains(want), "{fields}: {e}");
    }
}
