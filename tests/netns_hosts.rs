//! Namespace hosts (`[[hosts]] stack = "linux"`): netlab creates network namespaces with TAP
//! interfaces, runs programs in them, and removes everything afterwards. Each test gives its run a
//! namespace prefix of its own (NETLAB_NETNS_PREFIX) and checks that no namespace with that prefix,
//! no device in netlab's namespace and no program it started is left behind — after a normal end
//! and after Ctrl-C in the middle. Needs root, /dev/net/tun, iproute2 and python3: otherwise the
//! tests print SKIPPED, unless NETLAB_REQUIRE_TUN is set (CI), when they fail.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static NEXT: AtomicUsize = AtomicUsize::new(0);
/// One live run at a time: the device lists compared before and after are the machine's.
static SERIAL: Mutex<()> = Mutex::new(());

/// Whether these tests can run here; panics when they must (NETLAB_REQUIRE_TUN) but cannot.
fn available() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    let tun = std::fs::OpenOptions::new().read(true).write(true).open("/dev/net/tun").is_ok();
    let on_path = |t: &str| {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path).any(|d| d.join(t).is_file())
    };
    let (ip, python) = (on_path("ip"), on_path("python3"));
    let ok = root && tun && ip && python;
    if !ok {
        let why = format!("root={root}, /dev/net/tun={tun}, iproute2={ip}, python3={python}");
        if std::env::var_os("NETLAB_REQUIRE_TUN").is_some() {
            panic!("namespace host tests required (NETLAB_REQUIRE_TUN) but not possible: {why}");
        }
        eprintln!("SKIPPED: namespace hosts need root, /dev/net/tun, iproute2 and python3 ({why})");
    }
    ok
}

/// Whether program `tool` is on PATH; prints SKIPPED when not (and fails instead when
/// NETLAB_REQUIRE_TUN asks for these tests to run).
fn tool_available(tool: &str, why: &str) -> bool {
    tool_available_or(tool, "NETLAB_REQUIRE_TUN", why)
}

/// Whether program `tool` is on PATH; prints SKIPPED when not, or fails when `require` is set.
fn tool_available_or(tool: &str, require: &str, why: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    if std::env::split_paths(&path).any(|d| d.join(tool).is_file()) {
        return true;
    }
    if std::env::var_os(require).is_some() {
        panic!("{require} is set but `{tool}` is not on PATH ({why})");
    }
    eprintln!("SKIPPED: `{tool}` is not on PATH ({why})");
    false
}

/// A prefix for this run's namespaces, unique to the test process and test.
fn unique_prefix() -> String {
    format!("nlt{}x{}-", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst))
}

fn out_dir(test: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("netns-{test}"));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// What a run could leave behind: namespaces with its prefix, devices in netlab's namespace, and
/// processes whose command line carries `marker`.
#[derive(Debug, PartialEq, Eq)]
struct Leftovers {
    namespaces: Vec<String>,
    devices: Vec<String>,
    processes: usize,
}

fn leftovers(prefix: &str, marker: &str) -> Leftovers {
    let text =
        |args: &[&str]| String::from_utf8_lossy(&Command::new("ip").args(args).output().unwrap().stdout).into_owned();
    let namespaces = text(&["netns", "list"])
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(prefix))
        .map(str::to_string)
        .collect();
    let devices =
        text(&["-br", "link"]).lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect();
    let processes = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .filter(|c| !marker.is_empty() && String::from_utf8_lossy(c).contains(marker))
        .count();
    Leftovers { namespaces, devices, processes }
}

fn netlab(prefix: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_netlab"));
    c.env("NETLAB_NETNS_PREFIX", prefix);
    c
}

fn show(o: &Output) -> String {
    format!("stdout:\n{}\nstderr:\n{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn linux_pair_moves_the_bytes_across_the_lossy_router_and_leaves_nothing_behind() {
    if !available() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let prefix = unique_prefix();
    let before = leftovers(&prefix, "");
    let out = out_dir("linux-pair");
    let o =
        netlab(&prefix).args(["run", "--out"]).arg(&out).arg(repo("scenarios/live/linux-pair.toml")).output().unwrap();
    assert!(o.status.success(), "netlab failed:\n{}", show(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("3 passed, 0 failed"), "{}", show(&o));
    assert!(stdout.contains("transfer ok"), "{}", show(&o));
    // The passive tracker followed the kernels' connection from the frames.
    assert!(stdout.contains("-> 10.0.2.2:8000: CLOSED > SYN-SENT > ESTABLISHED"), "{}", show(&o));
    assert_eq!(leftovers(&prefix, ""), before, "something was left behind");
    // The programs' output went into the output directory.
    let client = std::fs::read_to_string(out.join("client.stdout")).unwrap();
    assert!(client.contains("received 2000000 bytes"), "{client}");
    captures_read_cleanly(&out.join("l2-h2.pcap"));
}

/// tshark reads the capture of a namespace host's link without a malformed frame or a bad checksum,
/// and no frame is longer than the MTU allows (offloads are off: the kernel sent real segments).
fn captures_read_cleanly(pcap: &Path) {
    if !tool_available_or("tshark", "NETLAB_REQUIRE_TSHARK", "the capture check reads the pcap with tshark") {
        return;
    }
    let tshark = |filter: &str| {
        let o = Command::new("tshark")
            .args(["-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE", "-r"])
            .arg(pcap)
            .args(["-Y", filter])
            .output()
            .unwrap();
        assert!(o.status.success(), "tshark -Y {filter}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).lines().count()
    };
    assert!(tshark("tcp.checksum.status == 1") > 1000, "the transfer's segments are in the capture");
    // A TCP checksum of 0xffff where 0x0000 is computed is the same number in one's complement
    // (RFC 1071: -0 and +0); Linux writes it so (CSUM_MANGLED_0, skb_checksum_help) for about one
    // segment in 65,536, the receiver's sum over the segment is the same, and netlab accepts it.
    // tshark 4.0 calls it bad.
    let bad = "_ws.malformed || ip.checksum.status == 0 || frame.len > 1514 \
               || (tcp.checksum.status == 0 && !(tcp.checksum == 0xffff && tcp.checksum_calculated == 0x0000))";
    assert_eq!(tshark(bad), 0, "malformed, bad checksums or oversized frames in {}", pcap.display());
}

/// A netlab run that gets SIGINT when the test is done with it (or fails before).
struct Interrupt(Option<std::process::Child>);

/// Starts `netlab run ARGS... --out OUT SCENARIO` in the background.
fn start(prefix: &str, args: &[&str], out: &Path, scenario: &Path) -> Interrupt {
    let child = netlab(prefix)
        .arg("run")
        .args(args)
        .arg("--out")
        .arg(out)
        .arg(scenario)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Interrupt(Some(child))
}

/// Waits (at most 20 s) until `ready` holds for what the run has set up so far.
fn wait_for(prefix: &str, marker: &str, what: &str, ready: impl Fn(&Leftovers) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = leftovers(prefix, marker);
        if ready(&now) {
            return;
        }
        assert!(Instant::now() < deadline, "{what} did not happen: {now:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Interrupt {
    /// Sends SIGINT and waits (at most 20 s) for the run to end.
    fn interrupt(&mut self) -> Output {
        let mut child = self.0.take().expect("interrupted once");
        // SAFETY: kill(2) on the child this test started.
        unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "netlab did not stop after SIGINT");
            std::thread::sleep(Duration::from_millis(50));
        }
        child.wait_with_output().unwrap()
    }
}

impl Drop for Interrupt {
    /// The test failed before it interrupted the run: stop it without panicking again.
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            // SAFETY: kill(2) on the child this test started.
            unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
            for _ in 0..400 {
                if !matches!(child.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn ctrl_c_in_the_middle_stops_the_programs_and_removes_the_namespaces() {
    if !available() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let prefix = unique_prefix();
    // A program that would run for a long time, and one it leaves in the background.
    let marker = format!("{}.25", 900 + NEXT.fetch_add(1, Ordering::SeqCst));
    let scenario = format!(
        r#"
[simulation]
stop = "60s"
[[hosts]]
name = "h1"
stack = "linux"
[[hosts]]
name = "h2"
stack = "linux"
[[links]]
name = "l1"
a = {{ node = "h1", ip = "10.0.1.1/24" }}
b = {{ node = "h2", ip = "10.0.1.2/24" }}
delay = "5ms"
[[apps]]
name = "long"
kind = "exec"
host = "h1"
command = "sleep {marker} & sleep {marker}"
"#
    );
    let out = out_dir("ctrl-c");
    std::fs::create_dir_all(&out).unwrap();
    let file = out.join("long.toml");
    std::fs::write(&file, scenario).unwrap();
    let before = leftovers(&prefix, &marker);
    assert_eq!(before.processes, 0);
    let mut child = start(&prefix, &[], &out, &file);
    // `sh -c` and its two sleeps (a shell may also exec the last one itself).
    wait_for(&prefix, &marker, "the programs' start", |now| now.namespaces.len() == 2 && now.processes >= 2);
    let o = child.interrupt();
    assert!(String::from_utf8_lossy(&o.stdout).to_lowercase().contains("interrupted"), "{}", show(&o));
    assert_eq!(leftovers(&prefix, &marker), before, "something was left behind:\n{}", show(&o));
}

#[test]
fn a_raw_socket_peer_on_h1_eth0_answers_arp_and_echo_requests_through_netlab() {
    if !available() {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let prefix = unique_prefix();
    let before = leftovers(&prefix, "");
    let out = out_dir("raw-peer");
    let o = netlab(&prefix).args(["run", "--out"]).arg(&out).arg(repo("tests/netns/raw-peer.toml")).output().unwrap();
    assert!(o.status.success(), "netlab failed:\n{}", show(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("4 passed, 0 failed"), "{}", show(&o));
    // The answers came from the raw peer, which saw the simulated router's ARP request.
    let peer = std::fs::read_to_string(out.join("raw.stdout")).unwrap();
    assert!(peer.contains("answered ARP from 10.0.1.1"), "{peer}");
    for seq in 1..=3 {
        assert!(peer.contains(&format!("answered echo request {seq} from 10.0.2.2")), "{peer}");
    }
    assert_eq!(leftovers(&prefix, ""), before, "something was left behind");
}

#[test]
fn with_lab_stack_the_kernel_stays_silent_and_a_raw_socket_stack_owns_tcp() {
    if !available() || !tool_available("nft", "lab_stack silences the kernel's TCP with nftables") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let prefix = unique_prefix();
    let before = leftovers(&prefix, "");
    let out = out_dir("lab-stack");
    let mut run = start(&prefix, &["--until", "60s"], &out, &repo("scenarios/live/lab-stack.toml"));
    let ns = format!("{prefix}h1");
    wait_for(&prefix, "", "the namespaces' creation", |now| now.namespaces.len() == 2);
    // The echo server needs a moment to listen; the client's SYN is sent again after a second.
    std::thread::sleep(Duration::from_millis(500));
    let client = Command::new("ip")
        .args(["netns", "exec", &ns, "python3"])
        .arg(repo("tests/netns/raw_tcp_client.py"))
        .args(["h1-eth0", "10.0.1.2", "10.0.1.1", "10.0.2.2", "5000", "hello from a raw socket"])
        .output()
        .unwrap();
    assert!(client.status.success(), "the raw-socket client failed:\n{}", show(&client));
    assert!(String::from_utf8_lossy(&client.stdout).contains("received: server echoes: hello from a raw socket"));
    // Let the kernel-silent check (a SYN to a closed port of h1, 2 s without answer) finish.
    std::thread::sleep(Duration::from_secs(3));
    let o = run.interrupt();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("2 passed, 0 failed"), "{}", show(&o));
    let server = std::fs::read_to_string(out.join("echo-server.stdout")).unwrap();
    assert!(server.contains(": hello from a raw socket"), "{server}");
    assert_eq!(leftovers(&prefix, ""), before, "something was left behind");
}

#[test]
fn without_the_capabilities_netlab_says_it_needs_root_and_creates_nothing() {
    if !available() || !tool_available("setpriv", "the test drops netlab's capabilities with setpriv") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let prefix = unique_prefix();
    let before = leftovers(&prefix, "");
    let out = out_dir("no-caps");
    let o = Command::new("setpriv")
        .args(["--bounding-set=-net_admin,-sys_admin", "--inh-caps=-net_admin,-sys_admin"])
        .arg(env!("CARGO_BIN_EXE_netlab"))
        .env("NETLAB_NETNS_PREFIX", &prefix)
        .args(["run", "--out"])
        .arg(&out)
        .arg(repo("scenarios/live/linux-pair.toml"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN)"),
        "{}",
        show(&o)
    );
    assert_eq!(leftovers(&prefix, ""), before);
}
