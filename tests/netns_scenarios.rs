//! Namespace hosts in scenario files (`stack = "linux"`, `lab_stack`, `kind = "exec"`): what a valid
//! file becomes, and what an invalid one is told. No root needed: nothing is run.

use netlab::scenario::Scenario;

const TOPOLOGY: &str = r#"
[simulation]
stop = "10s"

[[hosts]]
name = "h1"
stack = "linux"
lab_stack = true

[[hosts]]
name = "h2"
stack = "linux"
routes = [{ prefix = "10.0.1.0/24", via = "10.0.2.1" }]

[[routers]]
name = "r1"

[[links]]
name = "l1"
a = { node = "h1", ip = "10.0.1.2/24" }
b = { node = "r1", ip = "10.0.1.1/24" }
mtu = 1400

[[links]]
name = "l2"
a = { node = "r1", ip = "10.0.2.1/24" }
b = { node = "h2", ip = "10.0.2.2/24" }
"#;

fn parse(text: &str) -> Result<Scenario, String> {
    Scenario::parse("test.toml", text, "test").map_err(|e| e.to_string())
}

fn error(text: &str) -> String {
    parse(text).expect_err("the scenario should be refused")
}

#[test]
fn a_linux_host_gets_an_interface_per_link_named_as_mininet_names_them() {
    let sc = parse(&format!(
        "{TOPOLOGY}\n[[apps]]\nname = \"get\"\nkind = \"exec\"\nhost = \"h1\"\ncommand = \"curl http://10.0.2.2/\"\nenv = {{ A = \"1\" }}\nstdin = \"x\"\n"
    ))
    .unwrap();
    assert!(sc.is_live(), "a namespace host makes the run a live one");
    let [h1, h2] = &sc.netns[..] else { panic!("two namespace hosts: {:?}", sc.netns) };
    assert_eq!(h1.name, "h1");
    assert_eq!(h1.ifaces.len(), 1);
    let i = &h1.ifaces[0];
    assert_eq!((i.name.as_str(), i.side, i.mtu), ("h1-eth0", 0, 1400));
    assert_eq!(i.addr.to_string(), "10.0.1.2/24");
    assert_eq!(i.mac.to_string(), "02:6e:0a:00:01:02");
    assert_eq!(h1.default_gateway, Some("10.0.1.1".parse().unwrap()), "one link, no routes: default via the far end");
    assert!(h1.lab_stack);
    // A host with static routes gets those and no default route.
    assert_eq!(h2.ifaces[0].side, 1);
    assert_eq!(h2.default_gateway, None);
    assert_eq!(h2.routes.len(), 1);
    assert!(!h2.lab_stack);
    let app = &sc.apps[0];
    assert_eq!(app.kind(), "exec");
    let (request, _) = app.recipe.exec().expect("an exec app has a request");
    assert_eq!(request.argv, ["sh", "-c", "curl http://10.0.2.2/"]);
    assert_eq!(request.env, [("A".to_string(), "1".to_string())]);
    assert_eq!(request.stdin.as_deref(), Some("x"));
}

#[test]
fn netlab_applications_are_refused_on_a_linux_host() {
    let e = error(&format!("{TOPOLOGY}\n[[apps]]\nkind = \"echo-server\"\nhost = \"h1\"\n"));
    assert!(e.contains("expected kind \"exec\" on the linux host \"h1\""), "{e}");
}

#[test]
fn exec_is_refused_on_a_simulated_host() {
    let text = TOPOLOGY.replace("name = \"h2\"\nstack = \"linux\"\n", "name = \"h2\"\n");
    let e = error(&format!("{text}\n[[apps]]\nkind = \"exec\"\nhost = \"h2\"\ncommand = [\"true\"]\n"));
    assert!(e.contains("expected a `stack = \"linux\"` host for an exec app; \"h2\" is simulated"), "{e}");
}

#[test]
fn exec_needs_a_command_that_names_a_program() {
    let e = error(&format!("{TOPOLOGY}\n[[apps]]\nkind = \"exec\"\nhost = \"h1\"\n"));
    assert!(e.contains("expected `command`"), "{e}");
    let e = error(&format!("{TOPOLOGY}\n[[apps]]\nkind = \"exec\"\nhost = \"h1\"\ncommand = []\n"));
    assert!(e.contains("expected a command that names a program"), "{e}");
}

#[test]
fn lab_stack_is_only_for_linux_hosts() {
    let text = TOPOLOGY.replace("name = \"h2\"\nstack = \"linux\"\n", "name = \"h2\"\nlab_stack = true\n");
    let e = error(&text);
    assert!(e.contains("expected `lab_stack` only on a `stack = \"linux\"` host; \"h2\" is not one"), "{e}");
}

#[test]
fn a_linux_host_name_must_leave_room_for_its_interface_names() {
    let text = TOPOLOGY.replace("\"h1\"", "\"a-long-hostname\"");
    let e = error(&text);
    assert!(e.contains("interface \"a-long-hostname-eth0\" would be longer than 15 bytes"), "{e}");
}

#[test]
fn a_linux_host_needs_a_link() {
    let e = error("[simulation]\n[[hosts]]\nname = \"h1\"\nstack = \"linux\"\n");
    assert!(e.contains("expected a link to the linux host \"h1\""), "{e}");
}

#[test]
fn the_ready_scenarios_are_valid() {
    for f in ["scenarios/live/linux-pair.toml", "scenarios/live/lab-stack.toml", "tests/netns/raw-peer.toml"] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(f);
        let sc = Scenario::load(&path).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_eq!(sc.netns.len(), 2, "{f}");
    }
}

#[test]
fn exit_code_is_checked_on_exec_apps_only() {
    let app = "\n[[apps]]\nname = \"run\"\nkind = \"exec\"\nhost = \"h1\"\ncommand = [\"true\"]\n";
    let sc = parse(&format!("{TOPOLOGY}{app}\n[[expect]]\napp = \"run\"\nexit_code = 3\n")).unwrap();
    assert_eq!(sc.expects[0].description, "app run: exit_code = 3");
    let e = error(&format!("{TOPOLOGY}{app}\n[[expect]]\nlink = \"l1\"\nexit_code = 0\n"));
    assert!(e.contains("expected `exit_code` only with an exec `app`"), "{e}");
}
