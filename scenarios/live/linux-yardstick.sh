#!/usr/bin/env bash
# Linux as the yardstick (issue 16): runs scenarios/live/linux-yardstick.toml (the kernel's TCP in two
# namespaces across the reorder-fidelity world) RUNS times (default 3) for each cell of the issue's
# table and each of reno and cubic, and prints the median goodput next to netlab's own
# (scenarios/bench/reorder-fidelity.sh measures netlab's over 20 seeds). Root required.
#   usage: scenarios/live/linux-yardstick.sh [RUNS] [NETLAB_BINARY] [CELL...]
#   CELL is a number 1-6 (the table's rows, in order); all six by default. NSTAT=1 prints each
#   run's sender-side TcpExt counters (TCPHystartTrainDetect, TCPSACKReorder, ...) on stderr.
#   SENDER_QUEUE=N gives l1 (h1's own interface into the world) an N-packet queue instead of 60:
#   the kernel writes TSO-sized bursts into the TUN device at once (a TUN has no rate, so TCP Small
#   Queues never hold them back), and a 60-packet l1 drops them where a real NIC's qdisc (1000
#   packets) would not. SENDER_QUEUE=1000 comes closer to how Linux behaves on hardware. Live runs take real
#   time: a 1%-loss cell moves 20 MB at ~7 Mbit/s, about 25 s a run.
set -euo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-3}
bin=${2:-target/release/netlab}
shift 2 2>/dev/null || shift $#
[ "$(id -u)" = 0 ] || { echo "linux-yardstick.sh: needs root (network namespaces)"; exit 2; }
[ -x "$bin" ] || cargo build --release --quiet --bin netlab
base=scenarios/live/linux-yardstick.toml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cells=(
    "loss 0%|{ loss = 0.0 }"
    "loss 1%|{ loss = 0.01 }"
    "loss 2%|{ loss = 0.02 }"
    "reorder 6.85% 5ms, loss 0%|{ reorder = 0.0685, reorder_delay = \"5ms\" }"
    "reorder 6.85% 5ms, loss 1%|{ reorder = 0.0685, reorder_delay = \"5ms\", loss = 0.01 }"
    "duplicate 1%, loss 1%|{ duplicate = 0.01, loss = 0.01 }"
)
chosen=("$@")
[ ${#chosen[@]} -gt 0 ] || chosen=(1 2 3 4 5 6)
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'; }
printf '| %-28s | %12s | %12s |\n' cell "Linux reno" "Linux cubic"
printf '|%s|%s|%s|\n' ------------------------------ -------------- --------------
for i in "${chosen[@]}"; do
    IFS='|' read -r name imp <<<"${cells[$((i - 1))]}"
    row=()
    for cc in reno cubic; do
        f="$tmp/$cc.toml"
        sed -e "s/^cc = .*# CELL: congestion/cc = b\"$cc\"  # CELL: congestion/" \
            -e "s/^\(b_to_a\|a_to_b\) = .*# CELL: impairments/\1 = $imp/" "$base" >"$f"
        [ -z "${SENDER_QUEUE:-}" ] || sed -i "0,/^queue_packets = 60/s//queue_packets = ${SENDER_QUEUE}/" "$f"
        vals=()
        for r in $(seq "$runs"); do
            "$bin" run "$f" --seed "$r" --out "$tmp/out" >"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
            vals+=("$(grep -o 'goodput_mbps [0-9.]*' "$tmp/log" | awk '{print $2}')")
            # NSTAT=1: each run's TcpExt counters of the sender (HyStart, reordering, undo...).
            [ -z "${NSTAT:-}" ] || echo "$name $cc run $r: $(grep -o 'nstat .*' "$tmp/log")" >&2
        done
        row+=("$(printf '%s\n' "${vals[@]}" | median) ($(IFS=/; echo "${vals[*]}"))")
    done
    printf '| %-28s | %12s | %12s |\n' "$name" "${row[0]}" "${row[1]}"
done
