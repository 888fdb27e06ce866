#!/usr/bin/env bash
# Configure and build tfc (compiler, runtime, tools, examples) into ${TFC_BUILD:-build}.
# Idempotent; assumes scripts/setup.sh ran (LLVM/MLIR 22 from Debian, .venv).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# TFC_SANITIZE=address,undefined (or thread): everything built with those
# sanitizers, by default in its own folder (build-asan-ubsan, build-tsan).
san=${TFC_SANITIZE:-}
san_dir=
if [ -n "$san" ]; then
  san_dir=$(echo "$san" | sed -e 's/address/asan/; s/undefined/ubsan/; s/thread/tsan/; s/,/-/g')
fi
build=${TFC_BUILD:-$root/build${san_dir:+-$san_dir}}
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
    -DPython3_EXECUTABLE="$venv/bin/python" -DTFC_SANITIZE="$san" "$@"
elif [ -n "$san" ]; then
  cmake -DTFC_SANITIZE="$san" "$build" >/dev/null
fi
ninja -C "$build" ${TFC_BUILD_TARGETS:-}
