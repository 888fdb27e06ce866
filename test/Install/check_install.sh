#!/usr/bin/env bash
# check_install.sh BUILD SOURCE STORIES_DIR
# The installed package as an application sees it (test/Install/CMakeLists.txt).
# Works in a fresh temporary folder outside BUILD (removed when the test
# passes); nothing after the install step may refer to BUILD.
set -euo pipefail
build=$1 src=$2 stories=$3
onnx_src=$stories/onnx/stories260K.ts.onnx
if [ ! -f "$onnx_src" ] || [ ! -f "$stories/tok512.bin" ]; then
  echo "SKIP: no stories260K in $stories"
  exit 77
fi
step() { echo "== $*"; }
die() { echo "FAIL: $*"; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/tfc-install.XXXXXX")
trap 'echo "(files kept in $work)"' ERR
prefix=$work/prefix

step "install to $prefix"
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
for f in bin/tfc bin/tfc-opt bin/tfc-run lib/libtfcrt.so lib/libtfcrt.a \
         include/tfc/Runtime/tfc_runtime.h include/tfc/Runtime/tfc_kernels.h \
         include/tfc/Support/WeightsFormat.h lib/cmake/tfc/tfcConfig.cmake \
         lib/cmake/tfc/tfcConfigVersion.cmake lib/cmake/tfc/TfcAddModel.cmake \
         lib/pkgconfig/tfcrt.pc; do
  [ -e "$prefix/$f" ] || die "$f is not installed"
done
# No installed text file and no RUNPATH points into the build tree.
if grep -rIl -- "$build" "$prefix"; then die "installed files name $build"; fi
for b in "$prefix"/bin/* "$prefix"/lib/*.so; do
  if readelf -d "$b" | grep -E 'R(UN)?PATH' | grep -q -- "$build"; then
    die "$b has a RUNPATH into $build"
  fi
done
"$prefix/bin/tfc" --help >/dev/null || die "the installed tfc does not start"

# The app's own copy of the model (so that the test can touch it).
mkdir -p "$work/model"
cp "$onnx_src" "$work/model/stories.onnx"
touch "$work/model/stories.onnx.data" # an external-data file, tracked too
app=$work/app
step "configure examples/embed-app against the package"
cmake -S "$src/examples/embed-app" -B "$app" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix" -DSTORIES_DIR="$stories" \
  -DSTORIES_ONNX="$work/model/stories.onnx" >"$work/configure.log" ||
  { cat "$work/configure.log"; die "configure"; }
if grep -q -- "$build" "$app/CMakeCache.txt"; then
  die "the app's configuration refers to $build"
fi
step "build (tfc runs at build time)"
cmake --build "$app" >"$work/build.log" 2>&1 || { cat "$work/build.log"; die "build"; }
grep -c "tfc: compiling" "$work/build.log" | grep -qx 2 ||
  { cat "$work/build.log"; die "expected two tfc runs"; }

step "run"
want=$(head -c 150 "$stories/expected-greedy.txt")
for exe in embed-app embed-app-shared; do
  "$app/$exe" 30 >"$work/$exe.out" 2>"$work/$exe.err" ||
    { cat "$work/$exe.err"; die "$exe failed"; }
  cat "$work/$exe.out" "$work/$exe.err"
  got=$(cat "$work/$exe.out")
  [ ${#got} -ge 60 ] || die "$exe printed too little"
  case "$want" in
    "$got"*) ;;
    *) case "$got" in "$want"*) ;; *) die "$exe: text differs from llama2.c's";; esac ;;
  esac
  grep -q "cache: 30 hits, 30 misses" "$work/$exe.err" || die "$exe: cache counts"
done
[ -f "$app/stories.tfcw" ] || die "tfc_copy_model_weights did not copy the weights"
(cd "$work" && "$app/embed-app-shared" 5 "$stories/tok512.bin" "$app/stories.tfcw" >/dev/null) ||
  die "embed-app-shared with the copied weights"

step "rebuilds: nothing to do, then what triggers tfc"
cmake --build "$app" >"$work/rebuild.log"
grep -q "no work to do" "$work/rebuild.log" || { cat "$work/rebuild.log"; die "a no-op build did work"; }
dry() { cmake --build "$app" -- -n | grep -c "tfc: compiling" || true; }
for f in "$work/model/stories.onnx" "$work/model/stories.onnx.data" "$prefix/bin/tfc"; do
  sleep 1; touch "$f"
  [ "$(dry)" = 2 ] || die "touching $f does not rerun tfc"
done
cmake --build "$app" >/dev/null
cmake "$app" -DEMBED_APP_TFC_FLAGS=--no-raise >/dev/null
[ "$(dry)" = 2 ] || die "new FLAGS do not rerun tfc"

step "pkg-config"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
cflags=$(pkg-config --cflags tfcrt) libs=$(pkg-config --libs tfcrt)
case "$cflags $libs" in *"$build"*) die "tfcrt.pc refers to $build";; esac
${CC:-cc} -o "$work/pc-app" "$src/test/Install/pkgconfig_main.c" $cflags $libs -lm
libdir=$(pkg-config --variable=libdir tfcrt)
LD_LIBRARY_PATH=$libdir "$work/pc-app" "$app/stories_so.tfc/stories.so" \
  "$app/stories_so.tfc/stories.tfcw" || die "the pkg-config app failed"
rm -rf "$work"
echo "PASS"
