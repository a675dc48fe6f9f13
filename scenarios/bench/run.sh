#!/usr/bin/env bash
# Runs each benchmark world N times (default 7) with the release build and prints the minimum,
# median and maximum wall time and the largest peak RSS. The machine is shared and noisy, so the
# median is the figure to compare; the minimum shows what the code can do on a quiet machine.
#   usage: scenarios/bench/run.sh [N] [scenario.toml ...]
set -euo pipefail
cd "$(dirname "$0")/../.."
n=${1:-7}
shift || true
worlds=("$@")
[ ${#worlds[@]} -gt 0 ] || worlds=(scenarios/bench/line-clean.toml scenarios/bench/line-loss.toml scenarios/bench/fat-pipe.toml scenarios/bench/dumbbell.toml scenarios/bench/idle-connections.toml)
cargo build --release --quiet --bin netlab
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf '%-28s %8s %8s %8s %10s\n' world min median max "peak RSS"
for w in "${worlds[@]}"; do
    times=()
    rss=0
    for _ in $(seq "$n"); do
        /usr/bin/time -f '%e %M' -o "$out/time" ./target/release/netlab run "$w" --out "$out/run" >"$out/log" \
            || { cat "$out/log"; echo "$w failed"; exit 1; }
        read -r t m <"$out/time"
        times+=("$t")
        [ "$m" -gt "$rss" ] && rss=$m
    done
    sorted=($(printf '%s\n' "${times[@]}" | sort -n))
    printf '%-28s %7ss %7ss %7ss %7s MB\n' "$(basename "$w" .toml)" "${sorted[0]}" "${sorted[$((n / 2))]}" \
        "${sorted[$((n - 1))]}" "$((rss / 1024))"
done
