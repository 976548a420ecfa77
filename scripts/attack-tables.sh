#!/usr/bin/env bash
# README's attack tables, from saved run folders' attacks.json: one row per attack (headline, verdict
# and the metric that decided it), one column per attacked arm of each run.
#   scripts/attack-tables.sh RUN_DIR...   one table of the given runs
#   scripts/attack-tables.sh              README's tables (MNIST, Fashion-MNIST) from the first repeat (seed 1)
#                                         of the scheme sweeps configs/sweeps/scheme-{mnist,fashion}-mlp.toml:
#                                         runs `ppdl sweep` first (resumable: only what is missing runs)
# The table itself is `ppdl summarize --attacks` (the verdicts are the attacks module's, never re-derived
# here). Needs the full datasets for missing runs: scripts/fetch-data.sh mnist fashion
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${PPDL_BIN:-./target/release/ppdl}"
[ -n "${PPDL_BIN:-}" ] || cargo build --release --quiet
if [ $# -gt 0 ]; then
  "$bin" summarize --attacks "$@"
  exit
fi
for ds in mnist fashion; do
  label=MNIST
  [ "$ds" = fashion ] && label=Fashion-MNIST
  sweep="configs/sweeps/scheme-$ds-mlp.toml"
  out="results/sweep-scheme-$ds-mlp"
  "$bin" sweep "$sweep" --out "$out" >&2 || true
  run="$out/runs/scheme-$ds-mlp-seed1"
  [ -f "$run/attacks.json" ] || "$bin" attack "$run" >&2
  printf '\n%s:\n\n' "$label"
  "$bin" summarize --attacks "$run"
done
