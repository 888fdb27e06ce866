# -*- Python -*-
import os
import lit.formats
from lit.llvm import llvm_config

config.name = "tfc"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["Inputs", "Upstream", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.tfc_tools_dir, "..", "test")

llvm_config.with_system_environment(["HOME", "TMPDIR"])
llvm_config.use_default_substitutions()
config.environment["LLVM_DISABLE_SYMBOLIZATION"] = "1"
config.substitutions.append(("%shared", config.tfc_shared_dir))
config.substitutions.append(("%cache", config.tfc_cache_dir))
config.substitutions.append(("%tfc_python", config.python_executable))
llvm_config.add_tool_substitutions(["tfc", "tfc-opt", "tfc-run", "tfc-link-run", "tfc-calibrate", "tfc-calibration-tests"], [config.tfc_tools_dir])
llvm_config.add_tool_substitutions(["FileCheck", "not", "count"], [config.llvm_tools_dir])
if os.path.isdir(config.tfc_shared_dir):
    config.available_features.add("shared-models")
# Tests that export ONNX files themselves (e.g. kv-cache-with-past.test).
import subprocess
if subprocess.run([config.python_executable, "-c",
                   "import importlib.util as u, sys; "
                   "sys.exit(0 if u.find_spec('torch') and u.find_spec('transformers') and u.find_spec('onnxruntime') else 1)"],
                  capture_output=True).returncode == 0:
    config.available_features.add("torch-export")
# Multi-rank tests (tfc --partition): OpenMPI's mpirun through our wrapper.
import shutil
if shutil.which("mpirun"):
    config.available_features.add("mpi")
config.substitutions.append(
    ("%mpirun", os.path.join(config.test_source_root, "..", "scripts", "mpirun.sh")))
# ONNX Runtime's uint8 x int8 integer GEMM is exact only with VNNI (vpdpbusd);
# on AVX2 without it (the AMD Zen 3) its vpmaddubsw sums pairs of products
# into saturating int16, so outputs of u8 x s8 nodes (DynamicQuantizeMatMul,
# MatMulInteger, QDQ) move by whole code steps (quant-import.test's dqmm y2 by
# 4.5; reduced to one node in scripts/ort_u8s8_check.py, whose output
# test/Scripts/ort-u8s8.test checks against this feature). Checks that tfc
# equals ORT's integer kernels to f32 rounding need this feature.
def _ort_u8s8_exact():
    import platform
    if platform.machine() not in ("x86_64", "AMD64"):
        return True
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((l for l in f if l.startswith("flags")), "").split()
    except OSError:
        return True
    return any(x in flags for x in ("avx512_vnni", "avx_vnni", "amx_int8"))
if _ort_u8s8_exact():
    config.available_features.add("ort-u8s8-exact")
# Heavy executed tests (minutes of compile each, e.g. SmolLM2 over 4 tensor
# ranks: ~3 min for one build on 2 cores) run only with TFC_HEAVY_TESTS=1
# (README "Run all tests"); the default suite covers the same paths on
# smaller models so that CI stays under its time budget.
if os.environ.get("TFC_HEAVY_TESTS", "0") not in ("", "0"):
    config.available_features.add("heavy")
for m in ["minilm", "smollm2", "qwen2_tiny", "mistral_tiny"]:
    if os.path.exists(os.path.join(config.tfc_cache_dir, "onnx", m + ".ts.onnx")):
        config.available_features.add("model-" + m)
# Headless-browser tests (test/Scripts/report-render.test): Debian's
# chromium (scripts/apt-packages.txt). Without it those tests are UNSUPPORTED.
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
if chromium:
    config.available_features.add("chromium")
    config.substitutions.append(("%chromium", chromium))
else:
    lit_config.note("chromium not found: the headless-browser report test "
                    "(test/Scripts/report-render.test) is UNSUPPORTED; "
                    "apt-get install chromium to run it")
