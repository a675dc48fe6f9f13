//! Live bridges, TUN: the Linux kernel as the peer. Each test makes its own network namespace
//! (`nl-test-<pid>-<n>`), runs netlab inside it (netlab creates the TUN device there), runs kernel
//! clients or servers inside it, and always deletes the namespace again. Traffic only goes to
//! addresses inside the namespace. Needs root and /dev/net/tun: otherwise the tests print SKIPPED,
//! unless NETLAB_REQUIRE_TUN is set (CI), when they fail.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Whether TUN tests can run here; panics when they must (NETLAB_REQUIRE_TUN) but cannot.
fn tun_available() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let tun = std::fs::OpenOptions::new().read(true).write(true).open("/dev/net/tun").is_ok();
    let ip = Command::new("ip").arg("-V").output().is_ok_and(|o| o.status.success());
    let ok = root && tun && ip;
    if !ok {
        let why = format!("root={root}, /dev/net/tun={tun}, iproute2={ip}");
        if std::env::var_os("NETLAB_REQUIRE_TUN").is_some() {
            panic!("TUN tests required (NETLAB_REQUIRE_TUN) but not possible: {why}");
        }
        eprintln!("SKIPPED: TUN tests need root, /dev/net/tun and iproute2 ({why})");
    }
    ok
}

/// Whether the outside programs `tools` are on PATH; prints SKIPPED with the missing ones when
/// not (and fails instead when NETLAB_REQUIRE_TUN asks for the live tests to run).
fn tools_available(tools: &[&str]) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&str> =
        tools.iter().copied().filter(|t| !std::env::split_paths(&path).any(|d| d.join(t).is_file())).collect();
    if missing.is_empty() {
        return true;
    }
    let why = format!("missing on PATH: {}", missing.join(", "));
    if std::env::var_os("NETLAB_REQUIRE_TUN").is_some() {
        panic!("TUN tests required (NETLAB_REQUIRE_TUN) but not possible: {why}");
    }
    eprintln!("SKIPPED: this TUN test runs kernel clients ({why})");
    false
}

/// A network namespace, deleted on drop with everything still running in it.
struct NetNs {
    name: String,
}

impl NetNs {
    fn new() -> NetNs {
        let name = format!("nl-test-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run_ok(Command::new("ip").args(["netns", "add", &name]));
        let ns = NetNs { name };
        run_ok(ns.cmd("ip").args(["link", "set", "lo", "up"]));
        ns
    }
    /// A command run inside the namespace.
    fn cmd(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        if let Ok(o) = Command::new("ip").args(["netns", "pids", &self.name]).output() {
            for pid in String::from_utf8_lossy(&o.stdout).split_whitespace().filter_map(|p| p.parse().ok()) {
                signal(pid, libc::SIGKILL);
            }
        }
        let _ = Command::new("ip").args(["netns", "del", &self.name]).output();
    }
}

fn signal(pid: i32, sig: i32) {
    // SAFETY: kill(2) on a process id we started (or found in our own namespace).
    unsafe { libc::kill(pid, sig) };
}

fn run_ok(c: &mut Command) -> Output {
    let o = c.output().expect("run command");
    assert!(o.status.success(), "{c:?} failed: {}", String::from_utf8_lossy(&o.stderr));
    o
}

/// Runs a command with a time limit (killed and failed when it takes longer); its output is small.
fn run_limited(c: &mut Command, limit: Duration) -> Output {
    use std::io::Read;
    let mut p = Proc::spawn(c.stdout(Stdio::piped()).stderr(Stdio::piped()), "command");
    let status = p.wait(limit);
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    if let Some(mut o) = p.child.stdout.take() {
        let _ = o.read_to_end(&mut stdout);
    }
    if let Some(mut e) = p.child.stderr.take() {
        let _ = e.read_to_end(&mut stderr);
    }
    Output { status, stdout, stderr }
}

/// A child process, killed on drop.
struct Proc {
    child: Child,
    name: String,
}

impl Proc {
    fn spawn(c: &mut Command, name: &str) -> Proc {
        Proc { child: c.stdin(Stdio::null()).spawn().unwrap_or_else(|e| panic!("{name}: {e}")), name: name.into() }
    }
    fn wait(&mut self, limit: Duration) -> ExitStatus {
        let end = Instant::now() + limit;
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st;
            }
            if Instant::now() >= end {
                let _ = self.child.kill();
                panic!("{} did not finish within {limit:?}", self.name);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn work_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("netlab-tun-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// scenarios/live/`file` with `loss = 0.0` replaced by the given loss, written into `dir`.
fn scenario(dir: &Path, file: &str, loss: f64) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/live").join(file);
    let text = std::fs::read_to_string(&src).expect("scenario");
    assert!(text.contains("loss = 0.0\n"));
    let path = dir.join(file);
    std::fs::write(&path, text.replace("loss = 0.0\n", &format!("loss = {loss}\n"))).expect("write");
    path
}

fn start_netlab(ns: &NetNs, dir: &Path, scenario: &Path) -> Proc {
    let out = std::fs::File::create(dir.join("netlab.out")).expect("out");
    let err = std::fs::File::create(dir.join("netlab.err")).expect("err");
    let mut c = ns.cmd(env!("CARGO_BIN_EXE_netlab"));
    c.arg("run").arg(scenario).arg("--out").arg(dir.join("out")).stdout(out).stderr(err);
    let mut p = Proc::spawn(&mut c, "netlab");
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let e = std::fs::read_to_string(dir.join("netlab.err")).unwrap_or_default();
        if e.contains("running in real time") {
            return p;
        }
        if let Some(st) = p.child.try_wait().expect("try_wait") {
            panic!("netlab exited early ({st}): {e}");
        }
        assert!(Instant::now() < end, "netlab not ready: {e}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn logs(dir: &Path) -> String {
    ["netlab.out", "netlab.err"]
        .iter()
        .map(|f| format!("--- {f}\n{}", std::fs::read_to_string(dir.join(f)).unwrap_or_default()))
        .collect()
}

fn sha256_hex(data: &[u8]) -> String {
    netlab::app::hex(&Sha256::digest(data))
}

fn summary(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("out/summary.json")).expect("summary.json");
    serde_json::from_str(&text).expect("json")
}

fn app<'a>(s: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    s["apps"].as_array().expect("apps").iter().find(|a| a["name"] == name).unwrap_or_else(|| panic!("no app {name}"))
}

fn output_line(a: &serde_json::Value, prefix: &str) -> String {
    a["output"]
        .as_array()
        .expect("output")
        .iter()
        .filter_map(|l| l.as_str())
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no output line starting with {prefix:?} in {a}"))
        .to_string()
}

/// Kernel clients (ping, curl, a python3 socket) to the simulated servers of tun-server.toml.
fn kernel_clients(loss: f64, tag: &str) {
    if !tun_available() || !tools_available(&["ping", "curl", "python3"]) {
        return;
    }
    let dir = work_dir(tag);
    let ns = NetNs::new();
    let sc = scenario(&dir, "tun-server.toml", loss);
    let mut netlab = start_netlab(&ns, &dir, &sc);

    // ping a simulated host (with loss a reply may go missing: 3 of 5 is enough then).
    let o = run_limited(ns.cmd("ping").args(["-c", "5", "-i", "0.2", "-W", "2", "10.0.2.2"]), Duration::from_secs(30));
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    let received: u32 =
        text.split(", ").find_map(|p| p.strip_suffix(" received").and_then(|n| n.trim().parse().ok())).unwrap_or(0);
    assert!(received >= if loss > 0.0 { 3 } else { 5 }, "ping: {text}\n{}", logs(&dir));

    // curl: 2 MB from the simulated HTTP server; the body is the server's seeded stream.
    let n = 2_000_000;
    let file = dir.join("curl.bin");
    let o = run_limited(
        ns.cmd("curl").args(["-sS", "--max-time", "60", "-o"]).arg(&file).arg(format!("http://10.0.2.2/bytes/{n}")),
        Duration::from_secs(70),
    );
    assert!(o.status.success(), "curl: {}\n{}", String::from_utf8_lossy(&o.stderr), logs(&dir));
    let got = std::fs::read(&file).expect("curl output");
    let expected = netlab::app::remote::http_body(1, "web", n);
    assert_eq!(got.len(), n, "curl got {} bytes", got.len());
    assert_eq!(sha256_hex(&got), sha256_hex(&expected), "curl body differs from the server's content");

    // A python3 socket client to the simulated echo server.
    let script = "import socket\n\
        s = socket.create_connection(('10.0.2.2', 7), timeout=20)\n\
        msgs = [b'hello netlab %d' % i for i in range(20)]\n\
        for m in msgs: s.sendall(m + b'\\n')\n\
        want = b''.join(b'server echoes: ' + m + b'\\n' for m in msgs)\n\
        got = b''\n\
        while len(got) < len(want):\n\
        \x20   c = s.recv(4096)\n\
        \x20   if not c: break\n\
        \x20   got += c\n\
        s.close()\n\
        print('ECHO-OK' if got == want else 'ECHO-BAD %r' % got)\n";
    let o = run_limited(ns.cmd("python3").args(["-c", script]), Duration::from_secs(40));
    let text = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(text.contains("ECHO-OK"), "echo: {text} {}\n{}", String::from_utf8_lossy(&o.stderr), logs(&dir));

    // Ctrl-C stops netlab; it writes its report and removes the device.
    signal(netlab.child.id() as i32, libc::SIGINT);
    let st = netlab.wait(Duration::from_secs(20));
    assert!(st.success(), "netlab after Ctrl-C: {st}\n{}", logs(&dir));
    let links = run_ok(ns.cmd("ip").args(["-br", "link"]));
    assert!(!String::from_utf8_lossy(&links.stdout).contains("tun0"), "tun0 still there after exit");
    let sum = summary(&dir);
    assert_eq!(sum["outcome"]["reason"], "interrupted");
    if loss > 0.0 {
        let l1 = sum["links"].as_array().unwrap().iter().find(|l| l["name"] == "l1").expect("l1");
        let lost =
            l1["a->b"]["dropped"]["loss"].as_u64().unwrap_or(0) + l1["b->a"]["dropped"]["loss"].as_u64().unwrap_or(0);
        assert!(lost > 0, "1% loss lost nothing: {l1}");
    }
    // Captures work, stamped with wall-clock time (after 2020).
    let pcap = std::fs::read(dir.join("out/l1-server.pcap")).expect("capture");
    assert!(pcap.len() > 40, "empty capture");
    let ts = u32::from_le_bytes([pcap[24], pcap[25], pcap[26], pcap[27]]);
    assert!(ts > 1_577_836_800, "capture timestamp {ts} is not wall-clock time");
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Simulated clients (webget, bulk) of tun-client.toml to kernel servers: python3 -m http.server and a
/// python3 TCP sink that reports the SHA-256 of what it received.
fn simulated_clients(loss: f64, tag: &str) {
    if !tun_available() || !tools_available(&["python3"]) {
        return;
    }
    let dir = work_dir(tag);
    let ns = NetNs::new();
    let www = dir.join("www");
    std::fs::create_dir_all(&www).expect("www");
    let data: Vec<u8> = (0..1_500_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(www.join("data.bin"), &data).expect("data.bin");
    let mut http = Proc::spawn(
        ns.cmd("python3")
            .args(["-m", "http.server", "8000", "--bind", "0.0.0.0", "--directory"])
            .arg(&www)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
        "http.server",
    );
    let sink_out = dir.join("sink.txt");
    let sink_script = format!(
        "import socket, hashlib\n\
         l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         l.bind(('0.0.0.0', 9000)); l.listen(1); l.settimeout(120)\n\
         c, _ = l.accept(); c.settimeout(120); h = hashlib.sha256(); n = 0\n\
         while True:\n\
         \x20   b = c.recv(65536)\n\
         \x20   if not b: break\n\
         \x20   h.update(b); n += len(b)\n\
         c.close()\n\
         open({:?}, 'w').write('%d %s' % (n, h.hexdigest()))\n",
        sink_out.display().to_string()
    );
    let mut sink = Proc::spawn(ns.cmd("python3").args(["-c", &sink_script]), "python sink");
    // Both servers listening before netlab starts its clients.
    let end = Instant::now() + Duration::from_secs(15);
    loop {
        let o = ns.cmd("ss").args(["-ltn"]).output().expect("ss");
        let t = String::from_utf8_lossy(&o.stdout).to_string();
        if t.contains(":8000") && t.contains(":9000") {
            break;
        }
        assert!(Instant::now() < end, "kernel servers not listening: {t}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let sc = scenario(&dir, "tun-client.toml", loss);
    let mut netlab = start_netlab(&ns, &dir, &sc);
    let st = netlab.wait(Duration::from_secs(150));
    assert!(st.success(), "netlab: {st}\n{}", logs(&dir));
    let sum = summary(&dir);
    // webget: the body is data.bin.
    let body = output_line(app(&sum, "get"), "body: ");
    assert_eq!(body, format!("body: {} bytes, sha256 {}", data.len(), sha256_hex(&data)), "{}", logs(&dir));
    // bulk: the kernel sink got exactly what the simulated sender sent (its seeded content).
    sink.wait(Duration::from_secs(30));
    let got = std::fs::read_to_string(&sink_out).expect("sink result");
    let expected = netlab::app::remote::content_sha256(1, "upload", 1_000_000);
    assert_eq!(got, format!("1000000 {expected}"), "{}", logs(&dir));
    let sent = output_line(app(&sum, "upload"), "sent 1000000 bytes, sha256 ");
    assert!(sent.ends_with(&expected), "{sent}");
    let _ = http.child.kill();
    let _ = http.child.wait();
    drop(ns);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kernel_clients_to_simulated_servers() {
    kernel_clients(0.0, "kc-clean");
}

#[test]
fn kernel_clients_to_simulated_servers_with_1pct_loss() {
    kernel_clients(0.01, "kc-loss");
}

#[test]
fn simulated_clients_to_kernel_servers() {
    simulated_clients(0.0, "sc-clean");
}

#[test]
fn simulated_clients_to_kernel_servers_with_1pct_loss() {
    simulated_clients(0.01, "sc-loss");
}
