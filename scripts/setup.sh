#!/usr/bin/env bash
# Sets up a machine to build, test and export models for tfc. Idempotent.
#
#  1. installs the Debian packages listed in scripts/apt-packages.txt
#     (apt-get update only when something is missing);
#  2. creates a Python venv at ${TFC_VENV:-<repo>/.venv};
#  3. pip installs scripts/requirements.txt (tests, ONNX Runtime references and
#     benchmarks) and, unless --no-export, scripts/requirements-export.txt
#     (torch, transformers, ... for exporting). pip runs only when the pinned
#     set changed since the last successful install (a stamp file in the venv).
#  4. with --bench, also scripts/requirements-bench.txt (OpenVINO, llama.cpp):
#     llama-cpp-python is an sdist that compiles llama.cpp; it is built once
#     (llama.cpp's default native CPU build, as a user's `pip install` does)
#     into a wheel cached under ${TFC_CACHE:-<repo>/.cache}/wheels/native-<hash
#     of the CPU flags and compiler>/, and reinstalls come from that wheel.
set -euo pipefail

usage() {
  cat <<EOF
usage: scripts/setup.sh [--no-apt] [--no-venv] [--no-export] [--force] [-h|--help]

  --no-apt     skip the Debian packages (scripts/apt-packages.txt)
  --no-venv    skip the Python venv and pip packages
  --no-export  install only scripts/requirements.txt (no torch/transformers;
               enough for tests, references and bench_ort.py)
  --no-torch   same as --no-export
  --bench      also install scripts/requirements-bench.txt (OpenVINO and
               llama-cpp-python, peers of scripts/bench_table.py); the first
               time builds llama.cpp from source (~25 min on 2 busy cores)
               and caches the wheel under .cache/wheels/native-*/
  --force      reinstall the pip packages even if the stamp matches

Environment: TFC_VENV (venv path, default <repo>/.venv), PYTHON (interpreter used
to create the venv, default python3), TFC_CACHE (wheel cache parent, default
<repo>/.cache).
EOF
}

DO_APT=1
DO_VENV=1
DO_EXPORT=1
DO_BENCH=0
FORCE=0
for arg in "$@"; do
  case "$arg" in
    --no-apt) DO_APT=0 ;;
    --no-venv) DO_VENV=0 ;;
    --no-export | --no-torch) DO_EXPORT=0 ;;
    --bench) DO_BENCH=1 ;;
    --force) FORCE=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRIPTS="$ROOT/scripts"
VENV="${TFC_VENV:-$ROOT/.venv}"
CACHE="${TFC_CACHE:-$ROOT/.cache}"
PYTHON="${PYTHON:-python3}"

log() { echo "setup.sh: $*" >&2; }
die() { echo "setup.sh: error: $*" >&2; exit 1; }

# --- 1. Debian packages -----------------------------------------------------
install_apt() {
  local list="$SCRIPTS/apt-packages.txt"
  [[ -f "$list" ]] || die "missing $list"
  local pkgs=() missing=()
  # One package per line; '#' starts a comment; blank lines ignored.
  while IFS= read -r line || [[ -n "$line" ]]; do
    line="${line%%#*}"
    for word in $line; do pkgs+=("$word"); done
  done <"$list"
  ((${#pkgs[@]})) || return 0
  for p in "${pkgs[@]}"; do
    # dpkg-query prints "install ok installed" only for a fully installed package.
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
      missing+=("$p")
    fi
  done
  if ((${#missing[@]} == 0)); then
    log "all ${#pkgs[@]} apt packages present"
    return 0
  fi
  local sudo=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null 2>&1 ||
      die "not root and no sudo; install these packages first: ${missing[*]}"
    sudo=(sudo)
  fi
  log "installing apt packages: ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# --- 2./3. venv and pip packages ----------------------------------------------
install_venv() {
  if [[ ! -x "$VENV/bin/python" ]]; then
    command -v "$PYTHON" >/dev/null 2>&1 || die "no '$PYTHON' on PATH"
    log "creating venv $VENV"
    "$PYTHON" -m venv "$VENV" ||
      die "'$PYTHON -m venv' failed (on Debian: apt-get install python3-venv)"
  fi
  local py="$VENV/bin/python"
  local reqs=("$SCRIPTS/requirements.txt")
  ((DO_EXPORT)) && reqs+=("$SCRIPTS/requirements-export.txt")
  ((DO_BENCH)) && reqs+=("$SCRIPTS/requirements-bench.txt")
  for r in "${reqs[@]}"; do [[ -f "$r" ]] || die "missing $r"; done

  # The stamp names what was installed: the interpreter and the requirement
  # files' contents. A venv with the export group also satisfies --no-export.
  local stamp_dir="$VENV/.tfc-stamps"
  local want
  want="$({ "$py" -c 'import sys; print(sys.version)'; cat "${reqs[@]}"; } |
    sha256sum | cut -d' ' -f1)"
  local base_want
  base_want="$({ "$py" -c 'import sys; print(sys.version)'; cat "$SCRIPTS/requirements.txt"; } |
    sha256sum | cut -d' ' -f1)"
  if ((!FORCE)); then
    if [[ -f "$stamp_dir/$want" ]]; then
      log "pip packages up to date ($VENV)"
      return 0
    fi
  fi
  log "pip installing ${reqs[*]##*/} into $VENV"
  "$py" -m pip install -q --disable-pip-version-check --progress-bar off \
    --upgrade pip==25.3
  local args=()
  for r in "${reqs[@]}"; do args+=(-r "$r"); done
  if ((DO_BENCH)); then
    local wheels
    wheels="$(build_llamacpp_wheel "$py")"
    args+=(--find-links "$wheels")
  fi
  "$py" -m pip install --disable-pip-version-check --progress-bar off "${args[@]}"
  rm -rf "$stamp_dir"
  mkdir -p "$stamp_dir"
  touch "$stamp_dir/$want" "$stamp_dir/$base_want"
  log "done; activate with: source $VENV/bin/activate"
}

# llama-cpp-python's wheel, built once per (CPU flags, compiler, version): a
# native build runs only on CPUs with the same features. Prints the folder.
build_llamacpp_wheel() {
  local py="$1" ver key dir
  ver="$(sed -n 's/^llama-cpp-python==\([^ #]*\).*/\1/p' "$SCRIPTS/requirements-bench.txt")"
  [[ -n "$ver" ]] || die "no llama-cpp-python==VERSION pin in requirements-bench.txt"
  key="$({ grep -m1 '^flags' /proc/cpuinfo; c++ --version 2>/dev/null | head -1; } |
    sha256sum | cut -c1-12)"
  dir="$CACHE/wheels/native-$key"
  if compgen -G "$dir/llama_cpp_python-$ver-*.whl" >/dev/null; then
    log "llama-cpp-python $ver: cached wheel in $dir"
  else
    command -v cmake >/dev/null 2>&1 && command -v c++ >/dev/null 2>&1 ||
      die "building llama-cpp-python needs cmake and a C++ compiler (scripts/apt-packages.txt)"
    log "building llama-cpp-python $ver from source into $dir (llama.cpp, native CPU build; slow)"
    mkdir -p "$dir"
    local t0=$SECONDS
    # SOURCE_DATE_EPOCH would turn llama.cpp's GGML_NATIVE default off.
    env -u SOURCE_DATE_EPOCH CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
      "$py" -m pip wheel --no-deps --disable-pip-version-check --progress-bar off \
      -w "$dir" "llama-cpp-python==$ver" >&2 ||
      die "building llama-cpp-python $ver failed"
    log "llama-cpp-python $ver built in $((SECONDS - t0)) s"
  fi
  echo "$dir"
}

((DO_APT)) && install_apt
((DO_VENV)) && install_venv
exit 0
