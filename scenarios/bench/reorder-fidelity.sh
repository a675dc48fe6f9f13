#!/usr/bin/env bash
# Median goodput (Mbit/s, the bulk app's `goodput_mbps`) over SEEDS seeds (default 20) for every cell
# of issue 16's table, NewReno and CUBIC, next to the Linux medians the issue measured.
#   usage: scenarios/bench/reorder-fidelity.sh [SEEDS] [NETLAB_BINARY]
# Extra [simulation.tcp] lines can be given in $TCP_EXTRA (e.g. 'recovery = "dupack"').
# SENDER_QUEUE=N gives l1 (the sender's own interface, h1 - r1) an N-packet queue instead of 60, as
# linux-yardstick.sh does for Linux: see there why.
set -euo pipefail
cd "$(dirname "$0")/../.."
seeds=${1:-20}
bin=${2:-target/release/netlab}
base=scenarios/bench/reorder-fidelity.toml
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cells=(
    "loss 0%|{ loss = 0.0 }|84.5|89.1"
    "loss 1%|{ loss = 0.01 }|6.8|6.1"
    "loss 2%|{ loss = 0.02 }|4.4|3.8"
    "reorder 6.85% 5ms, loss 0%|{ reorder = 0.0685, reorder_delay = \"5ms\" }|55.1|44.0"
    "reorder 6.85% 5ms, loss 1%|{ reorder = 0.0685, reorder_delay = \"5ms\", loss = 0.01 }|6.5|5.9"
    "duplicate 1%, loss 1%|{ duplicate = 0.01, loss = 0.01 }|7.0|6.4"
)
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'; }
printf '| %-28s | %10s | %11s | %14s | %12s |\n' cell "Linux reno" "Linux cubic" "netlab newreno" "netlab cubic"
printf '|%s|%s|%s|%s|%s|\n' ------------------------------ ------------ ------------- ---------------- --------------
for cell in "${cells[@]}"; do
    IFS='|' read -r name imp linux_reno linux_cubic <<<"$cell"
    row=()
    for cc in newreno cubic; do
        f="$tmp/$cc.toml"
        sed -e "s/^congestion = .*# CELL: congestion/congestion = \"$cc\"  # CELL: congestion/" \
            -e "s/^\(b_to_a\|a_to_b\) = .*# CELL: impairments/\1 = $imp/" "$base" >"$f"
        [ -z "${TCP_EXTRA:-}" ] || sed -i "/# CELL: congestion/a ${TCP_EXTRA}" "$f"
        [ -z "${SENDER_QUEUE:-}" ] || sed -i "0,/^queue_packets = 60/s//queue_packets = ${SENDER_QUEUE}/" "$f"
        for s in $(seq "$seeds"); do
            "$bin" run "$f" --seed "$s" --json --out "$tmp/out" --no-capture --no-trace \
                | python3 -c 'import json,sys; d=json.load(sys.stdin); print([a for a in d["report"]["apps"] if a["name"]=="transfer"][0]["metrics"]["goodput_mbps"])'
        done | median >"$tmp/m"
        row+=("$(cat "$tmp/m")")
    done
    printf '| %-28s | %10s | %11s | %14s | %12s |\n' "$name" "$linux_reno" "$linux_cubic" "${row[0]}" "${row[1]}"
done
