#!/usr/bin/env bash
# Interleaved A/B of ppdl builds: `ppdl bench --no-torch` on the same nets, the builds taking turns, so
# that a machine's drift hits every build alike. Prints each build's samples/s per net, one column per round.
#
#   scripts/bench-ab.sh mlp-256,lenet 3 /tmp/ppdl-before target/release/ppdl
#
# Extra `ppdl bench` options go in BENCH_ARGS (default: the embedded subset, batch 128, 2 threads, 4 epochs).
set -euo pipefail
if [ $# -lt 3 ]; then
  echo "usage: $0 ARCHS ROUNDS BINARY..." >&2
  exit 2
fi
archs=$1 rounds=$2
shift 2
args=${BENCH_ARGS:---samples 6000 --batch 128 --threads 2 --epochs 4}
for _ in $(seq "$rounds"); do
  for bin in "$@"; do
    # shellcheck disable=SC2086 # BENCH_ARGS is a list of options
    "$bin" bench --arch "$archs" $args --repeats 1 --no-torch 2>&1 |
      awk -v b="$bin" '$4 == "ppdl" && $6 == "samples/s," { print $1, b, $5 }'
  done
done | awk '{ k = $1 " " $2; v[k] = v[k] " " $3 } END { for (k in v) print k ":" v[k] }' | sort
