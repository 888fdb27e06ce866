//===- FuzzTarget.h - one fuzz target, two drivers --------------*- C++ -*-===//
//
// Every target (OnnxFuzz.cpp, ...) defines tfcFuzzOne. Linked with
// FuzzEntry.cpp and -fsanitize=fuzzer it is a libFuzzer binary (CMake option
// TFC_FUZZ); linked with FuzzReplay.cpp it replays a corpus in any build, the
// ctest tfc.fuzz.<target> (docs/RELIABILITY.md, "Fuzzing").
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TEST_FUZZ_FUZZTARGET_H
#define TFC_TEST_FUZZ_FUZZTARGET_H

#include <cstddef>
#include <cstdint>
#include <string>

/// Feeds one input to the code under test. Returns true when the input was
/// accepted; false with `error` saying why it was refused. A crash, a
/// sanitizer report or a broken invariant (the target traps) is a bug.
bool tfcFuzzOne(const uint8_t *data, size_t size, std::string &error);

/// Writes `data` to a file of this process's scratch folder (on /dev/shm when
/// there is one) named `name`, and returns its path ("" on failure). Loaders
/// that take a path read the input from there.
std::string tfcFuzzWriteFile(const uint8_t *data, size_t size,
                             const char *name);

/// A broken invariant: a message on stderr, then a trap the fuzzer reports.
[[noreturn]] void tfcFuzzBug(const std::string &what);

#endif // TFC_TEST_FUZZ_FUZZTARGET_H
