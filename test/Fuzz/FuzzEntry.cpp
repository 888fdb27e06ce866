//===- FuzzEntry.cpp - libFuzzer entry point ------------------------------===//
#include "FuzzTarget.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string error;
  (void)tfcFuzzOne(data, size, error);
  return 0;
}
