#!/usr/bin/env bash
# README's attack tables, from saved run folders' attacks.json: one row per attack (headline, verdict
# and the metric that decided it), one column per run.
#   scripts/attack-tables.sh RUN_DIR...   one table of the given runs
#   scripts/attack-tables.sh              README's four tables (MNIST, Fashion-MNIST, separable mix, fast mix) from
#                                         results/scheme/NAME: runs configs/scheme/NAME.toml first where
#                                         the run is missing and `ppdl attack` where its attacks.json is
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
# A run folder with its attacks: train and attack only what is missing.
prepare() {
  local name="$1" out="results/scheme/$1"
  if [ ! -f "$out/summary.json" ]; then
    rm -rf "$out"
    echo "== $name: training" >&2
    "$bin" run "configs/scheme/$name.toml" --out "$out" >&2
  fi
  if [ ! -f "$out/attacks.json" ]; then
    echo "== $name: attacks" >&2
    "$bin" attack "$out" >&2
  fi
  echo "$out"
}
table() {
  local title="$1"
  shift
  local runs=()
  for name in "$@"; do
    runs+=("$(prepare "$name")")
  done
  printf '\n%s:\n\n' "$title"
  "$bin" summarize --attacks "${runs[@]}"
}
for ds in mnist fashion; do
  label=MNIST
  [ "$ds" = fashion ] && label=Fashion-MNIST
  table "$label" "$ds-mlp-perm" "$ds-mlp-block4" "$ds-mlp-orth" "$ds-mlp-noise01" "$ds-mlp-split3"
done
table "Separable mix" mnist-mlp-sep fashion-mlp-sep
table "Fast mix next to the dense orthogonal mix" mnist-mlp-orth mnist-mlp-fastmix fashion-mlp-orth fashion-mlp-fastmix
