#!/usr/bin/env bash
# Configure and build tfc (compiler, runtime, tools, examples) into ${TFC_BUILD:-build}.
# Idempotent; assumes scripts/setup.sh ran (LLVM/MLIR 22 from Debian, .venv).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TFC_BUILD:-$root/build}
venv=${TFC_VENV:-$root/.venv}
cc=${CC:-clang-22}
cxx=${CXX:-clang++-22}
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
    -DPython3_EXECUTABLE="$venv/bin/python" "$@"
fi
ninja -C "$build" ${TFC_BUILD_TARGETS:-}
