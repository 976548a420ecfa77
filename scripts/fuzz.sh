#!/usr/bin/env bash
# Coverage-guided fuzzing of the input parsers with cargo-fuzz (libFuzzer) on the stable toolchain.
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]      default: 60 s, every target
# Targets: config, idx, cifar, digits_csv, npz, image (fuzz/fuzz_targets/). `--sanitizer none` is what lets
# cargo-fuzz run on stable; Rust's own bounds checks and the targets' assertions are the oracles.
# Each target starts from the committed seeds in fuzz/seeds/TARGET and grows fuzz/corpus/TARGET
# (git-ignored). A crash leaves its input in fuzz/artifacts/TARGET and makes this script exit 1;
# copy such an input into fuzz/seeds/TARGET once fixed, and `cargo test` replays it from then on.
# Needs: cargo install cargo-fuzz --locked
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config idx cifar digits_csv npz image)
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
  exit 2
fi
cargo fuzz build --sanitizer none -O
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  dict=()
  [ -f "$t.dict" ] && dict=("-dict=$t.dict")
  echo "== fuzzing $t for ${seconds}s"
  # -max_len 65536 covers every seed; -rss_limit_mb guards against a decompression bomb going unnoticed.
  cargo fuzz run --sanitizer none -O "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=2048 -print_final_stats=1 "${dict[@]}" 2>&1 |
    grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb|==|SUMMARY|thread|.*panicked)|INFO: seed corpus" || true
  # grep swallows the exit status; a crash is what leaves a file in artifacts/.
  if compgen -G "artifacts/$t/*" >/dev/null; then
    echo "FAILED: $t crashed; inputs in fuzz/artifacts/$t" >&2
    exit 1
  fi
done
echo "no crash in any target"
