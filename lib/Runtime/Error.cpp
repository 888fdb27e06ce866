//===- Error.cpp - last-error message and enum names ----------------------===//

#include "Internal.h"
#include "tfc/Runtime/tfc_kernels.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>
#include <limits>
#include <mutex>

namespace {
thread_local std::string lastError;

// Kernel errors of the current run; kernels may run on pool threads.
std::mutex kernelErrorMutex;
std::atomic<bool> kernelErrorSet{false};
tfc_status kernelErrorStatus = TFC_OK;
std::string kernelErrorMessage;
} // namespace

namespace tfcrt {

tfc_status setError(tfc_status status, const std::string &msg) {
  lastError = msg;
  return status;
}

void clearError() { lastError.clear(); }

void kernelError(tfc_status status, const std::string &msg) {
  std::lock_guard<std::mutex> lock(kernelErrorMutex);
  if (kernelErrorSet.load(std::memory_order_relaxed))
    return;
  kernelErrorStatus = status;
  kernelErrorMessage = msg;
  kernelErrorSet.store(true, std::memory_order_release);
}

tfc_status takeKernelError(std::string &msg) {
  if (!kernelErrorSet.load(std::memory_order_acquire))
    return TFC_OK;
  std::lock_guard<std::mutex> lock(kernelErrorMutex);
  msg = kernelErrorMessage;
  tfc_status s = kernelErrorStatus;
  kernelErrorMessage.clear();
  kernelErrorStatus = TFC_OK;
  kernelErrorSet.store(false, std::memory_order_release);
  return s;
}

void fillNaN(const tfcrt_memref3_f32 *y) {
  if (!y || !y->aligned || y->sizes[0] < 0 || y->sizes[1] < 0 ||
      y->sizes[2] < 0)
    return;
  const float nan = std::numeric_limits<float>::quiet_NaN();
  float *base = y->aligned + y->offset;
  for (int64_t b = 0; b < y->sizes[0]; ++b)
    for (int64_t i = 0; i < y->sizes[1]; ++i)
      for (int64_t j = 0; j < y->sizes[2]; ++j)
        base[b * y->strides[0] + i * y->strides[1] + j * y->strides[2]] = nan;
}

std::string format(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list copy;
  va_copy(copy, args);
  int n = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  std::string out;
  if (n > 0) {
    out.resize(static_cast<size_t>(n) + 1);
    std::vsnprintf(&out[0], out.size(), fmt, args);
    out.resize(static_cast<size_t>(n));
  }
  va_end(args);
  return out;
}

} // namespace tfcrt

TFCRT_EXPORT const char *tfc_last_error(void) { return lastError.c_str(); }

TFCRT_EXPORT const char *tfc_status_string(tfc_status status) {
  switch (status) {
  case TFC_OK:
    return "ok";
  case TFC_ERR_INVALID_ARGUMENT:
    return "invalid argument";
  case TFC_ERR_IO:
    return "I/O error";
  case TFC_ERR_CORRUPT:
    return "corrupt file";
  case TFC_ERR_SHAPE:
    return "shape mismatch";
  case TFC_ERR_DTYPE:
    return "dtype mismatch";
  case TFC_ERR_OUT_OF_MEMORY:
    return "out of memory";
  case TFC_ERR_UNSUPPORTED:
    return "unsupported";
  case TFC_ERR_INTERNAL:
    return "internal error";
  case TFC_ERR_COMM:
    return "communication error";
  }
  return "unknown status";
}

TFCRT_EXPORT const char *tfc_dtype_name(tfc_dtype dtype) {
  switch (dtype) {
  case TFC_DTYPE_F32:
    return "f32";
  case TFC_DTYPE_F16:
    return "f16";
  case TFC_DTYPE_BF16:
    return "bf16";
  case TFC_DTYPE_F64:
    return "f64";
  case TFC_DTYPE_I64:
    return "i64";
  case TFC_DTYPE_I32:
    return "i32";
  case TFC_DTYPE_I8:
    return "i8";
  case TFC_DTYPE_U8:
    return "u8";
  case TFC_DTYPE_BOOL:
    return "bool";
  }
  return "?";
}

TFCRT_EXPORT size_t tfc_dtype_size(tfc_dtype dtype) {
  switch (dtype) {
  case TFC_DTYPE_F64:
  case TFC_DTYPE_I64:
    return 8;
  case TFC_DTYPE_F32:
  case TFC_DTYPE_I32:
    return 4;
  case TFC_DTYPE_F16:
  case TFC_DTYPE_BF16:
    return 2;
  case TFC_DTYPE_I8:
  case TFC_DTYPE_U8:
  case TFC_DTYPE_BOOL:
    return 1;
  }
  return 0;
}
