#!/usr/bin/env bash
# Reproduce README's scheme accuracy table: run every config in configs/scheme (or the configs given)
# into results/scheme/NAME, then print one markdown table from the saved summaries.
#   scripts/scheme-table.sh [CONFIG...]
# Needs the full datasets: scripts/fetch-data.sh mnist fashion
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(configs/scheme/*.toml)
runs=()
for c in "${configs[@]}"; do
  name="$(basename "$c" .toml)"
  out="results/scheme/$name"
  if [ -f "$out/summary.json" ]; then
    echo "== $name: already in $out (delete it to re-run)"
  else
    rm -rf "$out"
    echo "== $name"
    ./target/release/ppdl run "$c" --out "$out" | grep -E "finished|FAILED" || true
  fi
  runs+=("$out")
done
./target/release/ppdl summarize "${runs[@]}"
