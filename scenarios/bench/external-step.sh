#!/usr/bin/env bash
# What one step of the external stack protocol costs netlab (issue 10's target: at most 20 us of
# netlab's own CPU per step, plus the process's own). Runs scenarios/bench/external-line.toml (h2
# behind `netlab stack-adapter`) and the same world with h2 in-process, N times each, interleaved,
# with the release build, and prints the medians:
#   netlab CPU per step = (netlab's own CPU, external run - in-process run) / steps
#   wall per step       = (wall, external run - in-process run) / steps   (netlab + pipe + adapter)
# netlab's own CPU excludes its children (getrusage RUSAGE_SELF, `cpu_seconds.netlab` of --json).
#   usage: scenarios/bench/external-step.sh [N] [netlab binary]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-7}
bin=${2:-}
if [ -z "$bin" ]; then
    cargo build --release --quiet --bin netlab
    bin=./target/release/netlab
fi
command -v python3 >/dev/null || { echo "external-step.sh needs python3 (to read --json)"; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
sed '/^stack = /d' scenarios/bench/external-line.toml >"$out/inprocess.toml"
for i in $(seq "$n"); do
    NETLAB_BIN="$bin" "$bin" run scenarios/bench/external-line.toml --out "$out/ext" --json >"$out/ext-$i.json"
    "$bin" run "$out/inprocess.toml" --out "$out/in" --json >"$out/in-$i.json"
done
python3 - "$out" "$n" <<'PY'
import json, statistics, sys
out, n = sys.argv[1], int(sys.argv[2])
def load(kind, i):
    v = json.load(open(f"{out}/{kind}-{i}.json"))
    assert v["report"]["passed"], f"{kind} run {i} failed its expectations"
    steps = sum(node.get("stack_steps", 0) for node in v["report"]["nodes"])
    return v["wall_seconds"], v["cpu_seconds"]["netlab"], v["cpu_seconds"]["children"], steps
rows = [(load("ext", i), load("in", i)) for i in range(1, n + 1)]
steps = rows[0][0][3]
assert all(r[0][3] == steps for r in rows), "the step count differs between runs: not deterministic"
cpu = [(e[1] - b[1]) * 1e6 / steps for e, b in rows]
wall = [(e[0] - b[0]) * 1e6 / steps for e, b in rows]
child = [e[2] * 1e6 / steps for e, b in rows]
med = statistics.median
print(f"external-line: {steps} steps; medians of {n} interleaved runs")
print(f"  in-process run:  wall {med(b[0] for e, b in rows):.2f} s, netlab CPU {med(b[1] for e, b in rows):.2f} s")
print(f"  external run:    wall {med(e[0] for e, b in rows):.2f} s, netlab CPU {med(e[1] for e, b in rows):.2f} s, adapter CPU {med(e[2] for e, b in rows):.2f} s")
print(f"  per step: netlab CPU {med(cpu):.1f} us (min {min(cpu):.1f}, max {max(cpu):.1f}); wall {med(wall):.1f} us; adapter CPU {med(child):.1f} us")
PY
