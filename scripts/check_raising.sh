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
# With numpy available (.venv/bin/python or TFC_PYTHON), also runs both builds
# on fresh padded inputs (rows full, right-padded, left-padded; ids drawn from
# the reference ids) and compares raised against --no-raise outputs
# (row "padded", NaN == NaN), which the references do not exercise.
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

py=${TFC_PYTHON:-$root/.venv/bin/python}
"$py" -c 'import numpy' 2>/dev/null || py=""

# padded_inputs REF OUT.npz: inputs with keys pad_<name>.
padded_inputs() {
  "$py" - "$1" "$2" <<'EOF'
import sys, numpy as np
ref = np.load(sys.argv[1])
rng = np.random.default_rng(1234)
names = sorted({k[len("case0_"):] for k in ref.files
                if k.startswith("case0_") and ref[k].dtype == np.int64})
ids = np.unique(np.concatenate([ref[k].ravel() for k in ref.files
                                if k.endswith("_input_ids")]))
b, n = 3, 19
mask = np.ones((b, n), np.int64)
mask[1, 11:] = 0          # right padding
mask[2, :6] = 0           # left padding
out = {}
for name in names:
    if name == "input_ids":
        out["pad_" + name] = rng.choice(ids, size=(b, n)).astype(np.int64)
    elif name == "attention_mask":
        out["pad_" + name] = mask
    else:
        out["pad_" + name] = rng.integers(0, 2, size=(b, n)).astype(np.int64)
np.savez(sys.argv[2], **out)
EOF
}

# same_outputs A.npz B.npz: every output within atol + rtol*|b|, NaN == NaN.
same_outputs() {
  "$py" - "$1" "$2" "$atol" "$rtol" <<'EOF'
import sys, numpy as np
a, b = np.load(sys.argv[1]), np.load(sys.argv[2])
atol, rtol = float(sys.argv[3]), float(sys.argv[4])
ok = set(a.files) == set(b.files)
for k in a.files if ok else []:
    x, y = a[k], b[k]
    if x.shape != y.shape or not np.allclose(x, y, atol=atol, rtol=rtol,
                                             equal_nan=True):
        ok = False
        d = np.nanmax(np.abs(x - y)) if x.shape == y.shape else "shape"
        print(f"{k}: max |diff| {d}", file=sys.stderr)
sys.exit(0 if ok else 1)
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
  if [ -n "$py" ] && [ -f "$out/$name.raise.so" ] && [ -f "$out/$name.noraise.so" ]; then
    padded_inputs "$ref" "$out/$name.pad.npz"
    res=FAIL
    if "$run" "$out/$name.raise.so" --inputs "$out/$name.pad.npz" --prefix pad_ \
         --outputs "$out/$name.pad.raise.npz" >/dev/null 2>&1 &&
       "$run" "$out/$name.noraise.so" --inputs "$out/$name.pad.npz" --prefix pad_ \
         --outputs "$out/$name.pad.noraise.npz" >/dev/null 2>&1 &&
       same_outputs "$out/$name.pad.raise.npz" "$out/$name.pad.noraise.npz" \
         2>"$out/$name.pad.log"; then
      res=PASS
    else
      status=1
    fi
    printf '%-28s %-8s %s\n' "$name" padded "raise vs noraise: $res"
  fi
done
exit $status
