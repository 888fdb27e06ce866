#!/usr/bin/env bash
# Checks the raising passes end to end: for each model, compiles it with and
# without raising (--no-raise), runs every reference case through tfc-run and
# prints a PASS/FAIL table, plus the count of each transformer op that
# `--emit=tfc` shows after raising.
#
# usage: scripts/check_raising.sh [MODEL.onnx ...]
#   default models: stories260K (shared) and the tiny/minilm exports in
#   .cache/onnx (smollm2 only with TFC_CHECK_SMOLLM2=1: it compiles slowly).
# env: TFC_BUILD (default build), TFC_ATOL / TFC_RTOL (default 1e-4),
#      TFC_MODES (default "raise noraise"), TFC_OUT (scratch dir).
# Exit status: 0 when every run passed.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TFC_BUILD:-$root/build}
tfc=$build/bin/tfc
run=$build/bin/tfc-run
atol=${TFC_ATOL:-1e-4}
rtol=${TFC_RTOL:-1e-4}
modes=${TFC_MODES:-"raise noraise"}
out=${TFC_OUT:-$(mktemp -d /tmp/tfc-raising.XXXXXX)}
mkdir -p "$out"

models=("$@")
if [ ${#models[@]} -eq 0 ]; then
  shared=${TFC_SHARED:-/work/shared}/models/stories260K/onnx
  for s in ts dynamo; do models+=("$shared/stories260K.$s.onnx"); done
  for m in minilm qwen2_tiny mistral_tiny; do
    for s in ts dynamo; do
      f=$root/.cache/onnx/$m.$s.onnx
      [ -f "$f" ] && models+=("$f")
    done
  done
  if [ "${TFC_CHECK_SMOLLM2:-0}" = 1 ]; then
    for s in ts dynamo; do models+=("$root/.cache/onnx/smollm2.$s.onnx"); done
  fi
fi

# Case prefixes (case0_, case1_, ...) of a reference .npz (a zip file).
cases() {
  python3 - "$1" <<'EOF'
import re, sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
print(" ".join(sorted({m.group(1) for n in names
                       for m in [re.match(r"(case\d+_)", n)] if m})))
EOF
}

status=0
printf '%-28s %-8s %s\n' model mode results
for m in "${models[@]}"; do
  name=$(basename "$m" .onnx)
  ref=${m%.onnx}.ref.npz
  if [ ! -f "$m" ] || [ ! -f "$ref" ]; then
    echo "$name: missing model or reference, skipped"
    continue
  fi
  ops=$("$tfc" "$m" --emit=tfc -o - 2>/dev/null |
        grep -oE 'tfc\.(attention|rms_norm|layer_norm|gated_mlp|rotary|linear|embedding)|tfc\.unary +(silu|gelu_tanh|gelu)' |
        sed -E 's/tfc\.unary +/unary_/; s/tfc\.//' | sort | uniq -c |
        awk '{printf "%s=%s ", $2, $1}')
  echo "$name ops after raising: ${ops:-none}"
  for mode in $modes; do
    flags=()
    [ "$mode" = noraise ] && flags=(--no-raise)
    so=$out/$name.$mode
    if ! "$tfc" "$m" --emit=shared -O1 "${flags[@]}" -o "$so" \
         >"$so.compile.log" 2>&1; then
      printf '%-28s %-8s %s\n' "$name" "$mode" "COMPILE-FAIL (see $so.compile.log)"
      status=1
      continue
    fi
    line=""
    for c in $(cases "$ref"); do
      if "$run" "$so.so" --inputs "$ref" --prefix "$c" --reference "$ref" \
           --atol "$atol" --rtol "$rtol" >"$so.$c.log" 2>&1; then
        line+="${c%_}:PASS "
      else
        line+="${c%_}:FAIL "
        status=1
      fi
    done
    printf '%-28s %-8s %s\n' "$name" "$mode" "$line"
  done
done
exit $status
