#!/usr/bin/env python3
"""netlab against ns-3 on the same worlds, interleaved (scenarios/bench/ns3/README.md).

Builds worlds.cc against the distribution's ns-3 (Debian/Ubuntu: apt-get install libns3-dev) and
netlab's release binary, then runs every world in both simulators, alternating (run i: ns-3 then
netlab for odd i, netlab then ns-3 for even i, seed i in both), and prints the medians side by side:
wall time, peak RSS (the child's ru_maxrss from wait4, what /usr/bin/time -v reports), simulated
completion time and goodput, then the figures that show whether the worlds agree (flow completion
times, retransmissions, queue drops, fast recoveries). Without ns-3 it says SKIPPED and why, and
measures netlab alone.

    python3 scenarios/bench/ns3/compare.py                 # every world, 5 runs (3 for 1000 flows)
    python3 scenarios/bench/ns3/compare.py --runs 3 line-clean dumbbell-100

Environment: NETLAB_BIN=path uses that binary instead of building; NETLAB_CARGO_LOCK=file wraps
the cargo build in `flock file` (for machines shared by several builders).
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
NS3_LIBS = ["-lns3-core", "-lns3-network", "-lns3-internet", "-lns3-point-to-point",
            "-lns3-applications", "-lns3-traffic-control"]

# world -> (ns-3 arguments, netlab scenario, the netlab link and direction into the bottleneck)
WORLDS = {
    "line-clean": (["--world=line"], "line-clean.toml", ("l2", "b->a")),
    "line-loss": (["--world=line", "--loss=0.01"], "line-loss.toml", ("l2", "b->a")),
    "dumbbell-100": (["--world=dumbbell", "--flows=100"], "dumbbell-100.toml", ("bottleneck", "b->a")),
    "dumbbell-1000": (["--world=dumbbell", "--flows=1000"], "dumbbell-1000.toml", ("bottleneck", "b->a")),
}


def say(msg):
    print(msg, flush=True)


def build_ns3(out_dir):
    """Compiles worlds.cc; returns the binary, or None after printing SKIPPED and the reason."""
    cxx = shutil.which(os.environ.get("CXX", "g++"))
    if cxx is None:
        say("SKIPPED ns-3: no C++ compiler (g++) on PATH")
        return None
    if not os.path.exists("/usr/include/ns3/core-module.h"):
        say("SKIPPED ns-3: /usr/include/ns3/core-module.h not found "
            "(install ns-3's development package: apt-get install libns3-dev)")
        return None
    src = os.path.join(HERE, "worlds.cc")
    exe = os.path.join(out_dir, "worlds")
    if os.path.exists(exe) and os.path.getmtime(exe) >= os.path.getmtime(src):
        return exe
    say(f"building {os.path.relpath(exe, ROOT)} (ns-3 program)")
    cmd = [cxx, "-O2", "-std=c++17", src, "-o", exe] + NS3_LIBS
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        say("SKIPPED ns-3: worlds.cc did not build against the installed ns-3:\n" + r.stderr[-3000:])
        return None
    return exe


def build_netlab():
    exe = os.environ.get("NETLAB_BIN")
    if exe:
        return exe
    say("building netlab (cargo build --release --bin netlab)")
    cmd = ["cargo", "build", "--release", "--quiet", "--bin", "netlab"]
    lock = os.environ.get("NETLAB_CARGO_LOCK")
    if lock:
        cmd = ["flock", lock] + cmd
    subprocess.run(cmd, cwd=ROOT, check=True)
    return os.path.join(ROOT, "target", "release", "netlab")


def measure(cmd, niceness, stdout):
    """Runs cmd; returns (exit status, wall seconds, peak RSS in KiB, CPU seconds) of that process."""
    start = time.monotonic()
    p = subprocess.Popen(["nice", "-n", str(niceness)] + cmd, stdout=stdout, stderr=subprocess.STDOUT)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.monotonic() - start
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, wall, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def run_ns3(exe, args, seed, niceness, tmp):
    out = os.path.join(tmp, "ns3.out")
    with open(out, "w") as f:
        status, wall, rss, cpu = measure([exe] + args + [f"--seed={seed}"], niceness, f)
    kv = {}
    for line in open(out):
        parts = line.split()
        if len(parts) == 2:
            try:
                kv[parts[0]] = float(parts[1])
            except ValueError:
                pass
    if status != 0 or kv.get("flows_intact") != kv.get("flows"):
        raise SystemExit(f"ns-3 run failed ({' '.join(args)} --seed={seed}):\n" + open(out).read()[-2000:])
    return {
        "wall": wall, "cpu": cpu, "rss": rss, "completion": kv["completion_s"], "goodput": kv["goodput_mbps"],
        "p10": kv["flow_s_p10"], "p50": kv["flow_s_p50"], "p90": kv["flow_s_p90"],
        "retransmissions": kv["retransmissions"], "drops": kv["bottleneck_drops"],
        "all_drops": kv["queue_drops"], "recoveries": kv["recoveries"],
    }


def quantile(sorted_values, q):
    return sorted_values[int(q * (len(sorted_values) - 1))]


def run_netlab(exe, scenario, bottleneck, seed, niceness, tmp):
    out = os.path.join(tmp, "netlab-run")
    log = os.path.join(tmp, "netlab.out")
    cmd = [exe, "run", scenario, "--seed", str(seed), "--out", out, "--no-capture", "--no-trace"]
    with open(log, "w") as f:
        status, wall, rss, cpu = measure(cmd, niceness, f)
    if status != 0:
        raise SystemExit(f"netlab run failed ({scenario} --seed {seed}):\n" + open(log).read()[-2000:])
    s = json.load(open(os.path.join(out, "summary.json")))
    senders = [a for a in s["apps"] if a["kind"] == "bulk"]
    if not s["passed"] or any(not a["finished"] for a in senders):
        raise SystemExit(f"netlab run of {scenario} --seed {seed} did not complete every transfer")
    completion = max(a["finished_at"] for a in senders) / 1e9
    received = sum(a["metrics"]["bytes_received"] for a in senders)
    durations = sorted(a["metrics"]["duration_s"] for a in senders)
    conns = [c for c in s["connections"] if c["bytes_sent"] > 0]
    link = next(l for l in s["links"] if l["name"] == bottleneck[0])
    all_drops = sum(l[d]["dropped"].get("queue", 0) for l in s["links"] for d in ("a->b", "b->a"))
    return {
        "wall": wall, "cpu": cpu, "rss": rss, "completion": completion, "goodput": received * 8 / completion / 1e6,
        "p10": quantile(durations, 0.1), "p50": quantile(durations, 0.5), "p90": quantile(durations, 0.9),
        "retransmissions": sum(c["retransmissions"] for c in conns),
        "drops": link[bottleneck[1]]["dropped"].get("queue", 0), "all_drops": all_drops,
        "recoveries": sum((c.get("recovery") or {}).get("TCPSackRecovery", 0) for c in conns),
    }


def med(runs, key):
    return statistics.median(r[key] for r in runs) if runs else None


def fmt(v, unit="", digits=2):
    return "—" if v is None else f"{v:.{digits}f}{unit}"


def ratio(a, b, digits=1):
    return "—" if a is None or b is None or b == 0 else f"{a / b:.{digits}f}×"


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def load():
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("worlds", nargs="*", default=list(WORLDS), help=f"any of {', '.join(WORLDS)}")
    ap.add_argument("--runs", type=int, default=5, help="interleaved runs per world (default 5)")
    ap.add_argument("--runs-1000", type=int, default=3, help="runs of dumbbell-1000 (default 3)")
    ap.add_argument("--nice", type=int, default=10, help="niceness of the measured runs (default 10)")
    ap.add_argument("--raw", help="also write every run's figures to this JSON file")
    opts = ap.parse_args()
    for w in opts.worlds:
        if w not in WORLDS:
            ap.error(f"unknown world {w!r}; choose from {', '.join(WORLDS)}")

    build_dir = os.path.join(ROOT, "target", "ns3-bench")
    os.makedirs(build_dir, exist_ok=True)
    ns3 = build_ns3(build_dir)
    netlab = build_netlab()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip() or "?"
    say(f"machine: {machine()}; load average at start {load()}")
    say(f"checkout {commit}; netlab: {os.path.relpath(netlab, ROOT)}; ns-3: {'3.' + ns3_version() if ns3 else 'absent'}")

    results = {w: {"ns3": [], "netlab": []} for w in opts.worlds}
    with tempfile.TemporaryDirectory() as tmp:
        for w in opts.worlds:
            args, toml, bottleneck = WORLDS[w]
            scenario = os.path.join(HERE, toml)
            n = opts.runs_1000 if w == "dumbbell-1000" else opts.runs
            for i in range(1, n + 1):
                order = ("ns3", "netlab") if i % 2 else ("netlab", "ns3")
                for sim in order:
                    if sim == "ns3" and ns3 is None:
                        continue
                    r = (run_ns3(ns3, args, i, opts.nice, tmp) if sim == "ns3"
                         else run_netlab(netlab, scenario, bottleneck, i, opts.nice, tmp))
                    results[w][sim].append(r)
                    say(f"  {w} run {i}/{n} {sim:6}: wall {r['wall']:.2f} s, CPU {r['cpu']:.2f} s, peak RSS {r['rss'] / 1024:.0f} MB, "
                        f"completion {r['completion']:.3f} s, goodput {r['goodput']:.1f} Mbit/s (load {load()})")
    say(f"load average at the end {load()}\n")
    print_tables(results)
    if opts.raw:
        with open(opts.raw, "w") as f:
            json.dump(results, f, indent=1)


def ns3_version():
    # The shared libraries carry the release in their soname (libns3-core.so.37 for 3.37).
    for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib", "/usr/local/lib"):
        try:
            for name in os.listdir(d):
                if name.startswith("libns3-core.so."):
                    return name.rsplit(".", 1)[1]
        except OSError:
            pass
    return "?"


def print_tables(results):
    say("Medians of interleaved runs. ns-3/netlab: wall time ratio (how many times faster netlab is);")
    say("netlab/ns-3: the other ratios. Goodput = all bytes received / completion time.")
    say("| world | runs | ns-3 wall | netlab wall | ns-3/netlab | ns-3 peak RSS | netlab peak RSS | netlab/ns-3 "
        "| ns-3 completion | netlab completion | netlab/ns-3 | ns-3 goodput | netlab goodput | netlab/ns-3 |")
    say("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for w, r in results.items():
        a, b = r["ns3"], r["netlab"]
        rss_a, rss_b = med(a, "rss"), med(b, "rss")
        say(f"| {w} | {len(b)} | {fmt(med(a, 'wall'), ' s')} | {fmt(med(b, 'wall'), ' s')} "
            f"| {ratio(med(a, 'wall'), med(b, 'wall'))} "
            f"| {fmt(rss_a and rss_a / 1024, ' MB', 0)} | {fmt(rss_b / 1024, ' MB', 0)} | {ratio(rss_b, rss_a)} "
            f"| {fmt(med(a, 'completion'), ' s', 3)} | {fmt(med(b, 'completion'), ' s', 3)} "
            f"| {ratio(med(b, 'completion'), med(a, 'completion'), 3)} "
            f"| {fmt(med(a, 'goodput'), ' Mbit/s', 1)} | {fmt(med(b, 'goodput'), ' Mbit/s', 1)} "
            f"| {ratio(med(b, 'goodput'), med(a, 'goodput'), 3)} |")
    say("\nCPU time (user + system; on a busy machine steadier than wall time)")
    say("| world | ns-3 CPU | netlab CPU | ns-3/netlab |")
    say("|---|---|---|---|")
    for w, r in results.items():
        a, b = r["ns3"], r["netlab"]
        say(f"| {w} | {fmt(med(a, 'cpu'), ' s')} | {fmt(med(b, 'cpu'), ' s')} | {ratio(med(a, 'cpu'), med(b, 'cpu'))} |")
    say("\nDo the worlds agree? (medians; flow time = start to the sink's FIN at the sender; drops at the "
        "bottleneck queue, r1 -> r2 or r1 -> h2)")
    say("| world | ns-3 flow time p10 / p50 / p90 | netlab flow time p10 / p50 / p90 | ns-3 retransmissions "
        "| netlab retransmissions | ns-3 drops | netlab drops | ns-3 fast recoveries | netlab fast recoveries |")
    say("|---|---|---|---|---|---|---|---|---|")
    for w, r in results.items():
        a, b = r["ns3"], r["netlab"]
        q = lambda runs: (" / ".join(fmt(med(runs, k), "", 3) for k in ("p10", "p50", "p90"))
                          + " s") if runs else "—"
        say(f"| {w} | {q(a)} | {q(b)} | {fmt(med(a, 'retransmissions'), '', 0)} "
            f"| {fmt(med(b, 'retransmissions'), '', 0)} | {fmt(med(a, 'drops'), '', 0)} "
            f"| {fmt(med(b, 'drops'), '', 0)} | {fmt(med(a, 'recoveries'), '', 0)} "
            f"| {fmt(med(b, 'recoveries'), '', 0)} |")


if __name__ == "__main__":
    try:
        main()
    except subprocess.CalledProcessError as e:
        sys.exit(f"error: {' '.join(map(str, e.cmd))} failed with status {e.returncode}")
