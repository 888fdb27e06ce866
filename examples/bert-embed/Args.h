//===- Args.h - bert-embed command line -------------------------*- C++ -*-===//
#ifndef TFC_EXAMPLES_BERTEMBED_ARGS_H
#define TFC_EXAMPLES_BERTEMBED_ARGS_H

#include <cstddef>
#include <string>
#include <vector>

namespace bertembed {

struct Options {
  std::string model;     // -m: the compiled model (.so); unused when linked
  std::string tokenizer; // --tokenizer: HF folder, tokenizer.json or .gguf
  std::string weights;   // --weights: default derived from -m
  std::string pairs;     // --pairs FILE
  size_t maxLen = 0;     // --max-len: 0 = from the model folder, else 512
  size_t batch = 32;     // --batch
  int threads = 0;       // --threads: 0 = the runtime's default
  size_t cacheMb = 0;    // --cache-mb: 0 = no result cache
  bool stats = false;    // --stats: cache counters and timing on stderr
  bool json = false;     // --json
  bool help = false;     // -h / --help
  std::vector<std::string> texts;
};

/// Parses argv. `linked` is true in a build with the model linked in, where
/// -m is refused. False with a message on bad arguments.
bool parseArgs(int argc, const char *const *argv, bool linked, Options &out,
               std::string &error);

std::string usage(const char *argv0, bool linked);

/// The weights file that goes with a model library: "dir/model.so" ->
/// "dir/model.tfcw" (the extension after the last dot of the file name is
/// replaced, or ".tfcw" appended).
std::string defaultWeightsPath(const std::string &modelPath);

} // namespace bertembed

#endif // TFC_EXAMPLES_BERTEMBED_ARGS_H
