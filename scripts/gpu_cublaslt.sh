# Sourced by scripts/gpu_check.sh and scripts/gpu_llm.sh on the GPU machine.
# find_cublaslt: sets TFC_CUBLASLT_LIBRARY when libcublasLt.so.13 is neither
# on the loader's path nor in the toolkit (where the runtime looks too):
# PyTorch's nvidia-cublas wheel then has it.
find_cublaslt() {
  if [[ -z "${TFC_CUBLASLT_LIBRARY:-}" ]] && ! ldconfig -p 2>/dev/null | grep -q 'libcublasLt.so.13 ' &&
    ! ls /usr/local/cuda/lib64/libcublasLt.so.13 >/dev/null 2>&1; then
    local lt
    lt=$(python3 -c 'import nvidia.cublas as c, os; print(os.path.join(list(c.__path__)[0], "lib", "libcublasLt.so.13"))' 2>/dev/null || true)
    [[ -n "$lt" && -f "$lt" ]] && export TFC_CUBLASLT_LIBRARY="$lt"
  fi
  return 0
}
