#!/usr/bin/env bash
# Reproduce README's cost table: for each transform family, one clean-timed run on full MNIST
# (mlp-512-256, the MNIST default net, 2 epochs, arms timed one after the other, attacks and figures
# off) into results/overhead/NAME, then one markdown table from the saved overhead.json files.
#   scripts/overhead-table.sh [DATASET]        default: mnist   (needs scripts/fetch-data.sh mnist)
# Timings are only as clean as the machine: run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
dataset="${1:-mnist}"
bin="${PPDL_BIN:-./target/release/ppdl}"
[ -n "${PPDL_BIN:-}" ] || cargo build --release --quiet
configs="$(mktemp -d)"
trap 'rm -rf "$configs"' EXIT
runs=()
while read -r name transforms; do
  out="results/overhead/$dataset-$name"
  cat > "$configs/$name.toml" <<TOML
name = "$dataset-$name"
seed = 1
[data]
dataset = "$dataset"
[model]
arch = "mlp-512-256"
[train]
epochs = 2
batch_size = 128
schedule = "sequential"
[privacy]
transforms = $transforms
fixed_key = "5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed"
[attacks]
enabled = []
[output]
figures = false
TOML
  rm -rf "$out"
  echo "== $name"
  "$bin" run "$configs/$name.toml" --out "$out" | grep -E "finished|FAILED" || true
  runs+=("$out")
done <<'LIST'
perm [{ kind = "pixel-permutation" }]
block4 [{ kind = "block-shuffle", block = 4, flip = true }]
orth [{ kind = "orthogonal-mix" }]
sep [{ kind = "separable-mix" }]
fastmix [{ kind = "fast-mix", rounds = 3 }]
noise01-fixed [{ kind = "noise", sigma = 0.1 }]
noise01-per-sample [{ kind = "noise", sigma = 0.1, per_sample = true }]
LIST
"$bin" summarize --overhead "${runs[@]}"
