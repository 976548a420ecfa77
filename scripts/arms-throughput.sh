#!/usr/bin/env bash
# README's multi-arm throughput table: the first 1, 2 and 4 arms of configs/compare-quickstart.toml
# (embedded data, mlp-256, 5 epochs, all arms side by side: schedule "parallel"; attacks and figures
# off), each run REPEATS times in alternating order, into results/arms/; prints every run's total
# training samples/s (the sum over its arms of samples / training seconds) and the median per arm count.
#   scripts/arms-throughput.sh [REPEATS]        default: 3
# Timings are only as clean as the machine: run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
repeats="${1:-3}"
bin="${PPDL_BIN:-./target/release/ppdl}"
[ -n "${PPDL_BIN:-}" ] || cargo build --release --quiet
configs="$(mktemp -d)"
trap 'rm -rf "$configs"' EXIT
base=configs/compare-quickstart.toml
for n in 1 2 4; do
  # Everything before the (n+1)-th [[arms]], then attacks and figures off.
  awk -v keep="$n" '/^\[\[arms\]\]/ { seen++ } /^\[attacks\]/ { exit } seen <= keep { print }' "$base" \
    | sed "s/^name = \"compare-quickstart\"/name = \"arms-$n\"/" > "$configs/arms-$n.toml"
  printf '[attacks]\nenabled = []\n[output]\nfigures = false\n' >> "$configs/arms-$n.toml"
done
mkdir -p results/arms
for r in $(seq 1 "$repeats"); do
  order="1 2 4"; [ $((r % 2)) -eq 0 ] && order="4 2 1"
  for n in $order; do
    out="results/arms/arms-$n-run$r"
    rm -rf "$out"
    "$bin" run "$configs/arms-$n.toml" --out "$out" > /dev/null
  done
done
python3 - "$repeats" <<'PY'
import json, statistics, sys
repeats = int(sys.argv[1])
print("| arms | total samples/s per run | median total | median per arm |")
print("|---:|---|---:|---:|")
for n in (1, 2, 4):
    totals = []
    for r in range(1, repeats + 1):
        s = json.load(open(f"results/arms/arms-{n}-run{r}/summary.json"))
        totals.append(sum(a["samples_per_second"] for a in s["arms"]))
    m = statistics.median(totals)
    print(f"| {n} | {', '.join(f'{t:,.0f}' for t in totals)} | {m:,.0f} | {m / n:,.0f} |")
PY
