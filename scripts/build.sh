#!/usr/bin/env bash
# Configure and build tfc (compiler, runtime, tools, examples) into ${TFC_BUILD:-build}.
# Idempotent; assumes scripts/setup.sh ran (LLVM/MLIR 22 from Debian, .venv).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TFC_BUILD:-$root/build}
venv=${TFC_VENV:-$root/.venv}
cc=${CC:-clang-22}
cxx=${CXX:-clang++-22}
launcher=()
# ccache, where installed, shares object files between build folders
# (worktrees): CCACHE_BASEDIR makes their absolute paths hash alike.
if command -v ccache >/dev/null 2>&1 && [ -z "${TFC_NO_CCACHE:-}" ]; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$root")}
fi
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "${launcher[@]}" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
    -DPython3_EXECUTABLE="$venv/bin/python" "$@"
fi
ninja -C "$build" ${TFC_BUILD_TARGETS:-}
