//! What a connection costs in memory, measured by a counting global allocator (this test binary's
//! own, so the count is exact and deterministic: no timing, no RSS sampling).
//!
//! A figure is the growth of the live heap from a world with `n` connections to the same world with
//! `2n`, divided by `n`, taken in the middle of the run; the topology's and the engine's fixed costs
//! cancel out. Each world then runs to its end and must pass its expectations (every byte checked).
//!
//! Busy: bulk transfers with 1 MiB socket buffers on both ends, each sender blocked on a full send
//! buffer and a window of data in flight. netlab keeps a bulk sender's queued data as a content
//! range (`tcp::ContentSource`) and its sink reads as data arrives, so a busy transfer costs its
//! control state, its 16 KiB content pattern and its tasks, not the 1 MiB+ of bytes its buffers could
//! hold (which is what it cost before: 1.06 MB per transfer).

use netlab::scenario::Scenario;
use netlab::sim::Instant;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The system allocator, counting the bytes currently allocated.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The tests of this binary measure one at a time (the counter is process-wide).
static MEASURING: Mutex<()> = Mutex::new(());

/// Budget of one busy bulk transfer (both ends: sockets, buffers, content, tasks), in bytes.
/// Measured: 31 KB (16 KiB of it the content pattern); before content ranges, over 1 MB.
const BUSY_BUDGET: usize = 48 * 1024;
/// Budget of one idle established connection (both ends: sockets and the client's and server's
/// tasks), in bytes. Measured: 7.4 KB.
const IDLE_BUDGET: usize = 12 * 1024;

/// `flows` bulk transfers of 4 MB from h1 to h2 over 100 Mbit/s, 5 ms links, 1 MiB buffers.
fn busy_world(flows: usize) -> String {
    let mut s = String::from(
        r#"
[simulation]
stop = "60s"
capture = "none"
trace = false

[simulation.tcp]
send_buffer = 1048576
recv_buffer = 1048576
msl = "1s"

[[hosts]]
name = "h1"

[[hosts]]
name = "h2"

[[links]]
name = "l1"
a = { node = "h1", ip = "10.0.0.1/24" }
b = { node = "h2", ip = "10.0.0.2/24" }
delay = "5ms"
rate = "100Mbps"
queue_packets = 1000

[[expect]]
metric = "apps_failed"
equals = 0
"#,
    );
    for i in 0..flows {
        s += &format!(
            "\n[[apps]]\nname = \"f{i}\"\nkind = \"bulk\"\nhost = \"h1\"\nto = \"h2\"\nport = {}\nbytes = 4_000_000\nverify = \"compare\"\n\n[[expect]]\napp = \"f{i}\"\nmetric = \"data_match\"\nequals = 1\n",
            5000 + i
        );
    }
    s
}

/// `count` connections from client to an echo server, held open and idle for 2 s.
fn idle_world(count: usize) -> String {
    format!(
        r#"
[simulation]
stop = "60s"
capture = "none"
trace = false

[simulation.tcp]
msl = "1s"

[[hosts]]
name = "client"

[[hosts]]
name = "server"

[[links]]
name = "l1"
a = {{ node = "client", ip = "10.0.0.1/24" }}
b = {{ node = "server", ip = "10.0.0.2/24" }}
delay = "100us"
rate = "1Gbps"
queue_packets = 100000

[[apps]]
name = "server"
kind = "echo-server"
host = "server"
port = 7
backlog = {count}

[[apps]]
name = "arp-warmup"
kind = "ping"
host = "client"
to = "server"
count = 1

[[apps]]
name = "conns"
kind = "connections"
host = "client"
to = "server"
port = 7
count = {count}
hold = "2s"
start = "10ms"

[[expect]]
app = "conns"
metric = "opened"
equals = {count}

[[expect]]
app = "conns"
metric = "closed"
equals = {count}
"#
    )
}

/// Live heap bytes at simulated time `at` in the world `text`, which must then run to its end and
/// pass its expectations.
fn live_bytes_at(text: &str, at: Instant) -> usize {
    let dir = std::env::temp_dir().join(format!("netlab-memory-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("world.toml");
    std::fs::write(&path, text).expect("write scenario");
    let sc = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    let opts = netlab::scenario::BuildOptions { seed: Some(sc.seed), ..Default::default() };
    let mut world = netlab::run::build(&sc, &opts).expect("builds");
    world.run_until(at);
    let live = LIVE.load(Ordering::Relaxed);
    let outcome = world.run();
    let report = netlab::report::RunReport::collect(&sc, sc.seed, &world, outcome);
    assert!(report.passed, "{}", report.render(None));
    live
}

/// Bytes per unit between a world of `n` units and one of `2n`, at `at`. The caller holds
/// `MEASURING` until it has checked the figure: a failing check's panic message (and backtrace)
/// allocates, and must not do so while another test measures.
fn cost_per_unit(world: fn(usize) -> String, n: usize, at: Instant) -> usize {
    let small = live_bytes_at(&world(n), at);
    let large = live_bytes_at(&world(2 * n), at);
    large.saturating_sub(small) / n
}

#[test]
fn a_busy_bulk_transfer_holds_no_copy_of_its_buffered_data() {
    // At 1 s each of 8 (or 16) transfers has 1 MiB queued on a full send buffer and a window in
    // flight; none has finished.
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let per_flow = cost_per_unit(busy_world, 8, Instant::from_nanos(1_000_000_000));
    eprintln!("busy bulk transfer: {per_flow} bytes (both ends)");
    assert!(per_flow <= BUSY_BUDGET, "a busy bulk transfer costs {per_flow} bytes, budget {BUSY_BUDGET}");
}

#[test]
fn an_idle_connection_costs_a_few_kilobytes() {
    // At 1 s every connection is established and idle (they close at 2 s).
    let _one_at_a_time = MEASURING.lock().unwrap_or_else(|e| e.into_inner());
    let per_conn = cost_per_unit(idle_world, 200, Instant::from_nanos(1_000_000_000));
    eprintln!("idle connection: {per_conn} bytes (both ends)");
    assert!(per_conn <= IDLE_BUDGET, "an idle connection costs {per_conn} bytes, budget {IDLE_BUDGET}");
}
