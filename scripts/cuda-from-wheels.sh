#!/usr/bin/env bash
# Build `ppdl --features cuda` without a system CUDA toolkit, and without a GPU on the build machine:
# CUDA 13.0's compiler, headers and libraries come from NVIDIA's pip wheels.
#
#   scripts/cuda-from-wheels.sh DIR [COMPUTE_CAP]   # e.g. scripts/cuda-from-wheels.sh /opt/ppdl-cuda 90
#   source DIR/env.sh && cargo build --release --features cuda
#
# What it sets up under DIR, and why:
# - x/nvidia/cu13/{bin,include,lib,nvvm}: nvcc, ptxas, cicc, the CUDA and CCCL headers, libcublas,
#   libcublasLt, libcurand and libnvrtc (unpacked wheels; dfdx's build script compiles its kernels with nvcc,
#   cudarc links the libraries).
# - lib/libcuda.so: a link-time stand-in for the driver library (soname libcuda.so.1) exporting the driver
#   functions cudarc declares; the real driver library on the GPU machine is loaded at run time.
# - fakebin/nvidia-smi: dfdx's build script asks nvidia-smi for the GPU's compute capability; this one
#   answers COMPUTE_CAP (default 90: Hopper, H100/H200). CUDA_COMPUTE_CAP is set too.
# At run time the GPU machine needs the driver and CUDA 13 libraries (libcublas.so.13, libcublasLt.so.13,
# libnvrtc.so.13) on LD_LIBRARY_PATH. dfdx compiles a few kernels (reshape, concat, dtype casts) with nvrtc
# at run time and looks for headers in two folders whose paths the build embeds: DIR/x/nvidia/cu13/include
# and dfdx's build output folder (its *.cuh files); bench/README.md ("On a GPU") shows how to provide them.
set -euo pipefail
dir=${1:?usage: scripts/cuda-from-wheels.sh DIR [COMPUTE_CAP]}
cap=${2:-90}
python=${PYTHON:-python3}
mkdir -p "$dir/whl" "$dir/x" "$dir/fakebin"
dir=$(cd "$dir" && pwd)
"$python" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux_2_12_x86_64 \
  -d "$dir/whl" "nvidia-cuda-nvcc==13.0.*" "nvidia-nvvm==13.0.*" "nvidia-cuda-crt==13.0.*" \
  "nvidia-cuda-cccl==13.0.*" "nvidia-cuda-runtime==13.0.*" "nvidia-cuda-nvrtc==13.0.*" \
  "nvidia-cublas==13.0.*" "nvidia-curand==10.4.*"
for w in "$dir"/whl/*.whl; do
  "$python" -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$w" "$dir/x"
done
root=$dir/x/nvidia/cu13
chmod +x "$root"/bin/* "$root"/nvvm/bin/*
for l in nvrtc cublas cublasLt; do ln -sf "lib$l.so.13" "$root/lib/lib$l.so"; done
ln -sf libcurand.so.10 "$root/lib/libcurand.so"

# The driver functions cudarc 0.9 declares, as empty stand-ins: enough for the linker, never run.
sys_rs=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-0.9.*/src/driver/sys.rs 2>/dev/null | head -1)
if [ -z "$sys_rs" ]; then
  echo "cudarc's sources are not in cargo's registry yet: run 'cargo fetch' first" >&2
  exit 1
fi
grep -o 'pub fn cu[A-Za-z0-9_]*' "$sys_rs" | sed 's/pub fn //' | sort -u |
  sed 's/.*/void &(void) {}/' > "$dir/libcuda-stub.c"
cc -shared -fPIC -o "$root/lib/libcuda.so" "$dir/libcuda-stub.c" -Wl,-soname,libcuda.so.1

printf '#!/bin/sh\n# build-time stand-in for dfdx build script: the compute capability of the target GPU\necho compute_cap\necho %s\n' \
  "$(echo "$cap" | sed 's/^\(.*\)\(.\)$/\1.\2/')" > "$dir/fakebin/nvidia-smi"
chmod +x "$dir/fakebin/nvidia-smi"
cat > "$dir/env.sh" <<ENV
export CUDA_ROOT=$root
export PATH=$dir/fakebin:$root/bin:\$PATH
export CUDA_COMPUTE_CAP=$cap
ENV
"$root/bin/nvcc" --version | tail -1
echo "ready: source $dir/env.sh && cargo build --release --features cuda"
