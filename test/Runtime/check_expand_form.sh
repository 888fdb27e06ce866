#!/bin/sh
# The sparse MASK kernels must use vexpandps / vpexpandd in the register
# form only: clang folds `_mm512_maskz_expand_ps(k, _mm512_loadu_ps(p))`
# into the memory form, which AMD (Zen 4, Zen 5) microcodes and which keeps
# cache misses from overlapping (SmolLM2's 70 %-sparse decode on a Zen 5:
# 10.6 -> 6.4 ms per step once the loads were kept apart; docs/PERFORMANCE.md
# "Sparse decode on AMD: the cause"). This check fails if a compiler change
# brings the folding back.
#   check_expand_form.sh OBJDUMP "obj1;obj2;..."   (the runtime's objects)
objdump="$1"
found=0
checked=0
old_ifs=$IFS
IFS=';'
for o in $2; do
  case "$o" in
  *FormatSparseAvx512*)
    checked=1
    IFS=$old_ifs
    n=$("$objdump" -d --no-show-raw-insn "$o" | grep -cE 'vp?expand(ps|d) +[^%]*\(')
    if [ "$n" -ne 0 ]; then
      echo "FAIL: $o has $n memory-form expand instruction(s):"
      "$objdump" -d --no-show-raw-insn "$o" | grep -E 'vp?expand(ps|d) +[^%]*\(' | head -5
      found=1
    fi
    reg=$("$objdump" -d --no-show-raw-insn "$o" | grep -cE 'vexpandps +%zmm')
    echo "$o: $reg register-form vexpandps, $n memory-form"
    [ "$reg" -gt 0 ] || { echo "FAIL: no register-form vexpandps at all"; found=1; }
    IFS=';'
    ;;
  esac
done
IFS=$old_ifs
[ "$checked" -eq 1 ] || { echo "FAIL: FormatSparseAvx512 object not among the arguments"; exit 1; }
exit $found
