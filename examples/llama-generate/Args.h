//===- Args.h - llama-generate command line ---------------------*- C++ -*-===//
#ifndef TFC_EXAMPLES_LLAMAGENERATE_ARGS_H
#define TFC_EXAMPLES_LLAMAGENERATE_ARGS_H

#include <string>

namespace llamagen {

struct Options {
  std::string model;     // -m: the compiled model (.so)
  std::string weights;   // --weights: default derived from -m
  std::string tokenizer; // --tokenizer FILE_OR_DIR
  std::string prompt;    // -p
  bool havePrompt = false;
  std::string system; // --system (chat); default: the template's
  bool haveSystem = false;
  std::string tokenize; // --tokenize TEXT: print ids and exit
  bool haveTokenize = false;
  int steps = 256;             // -n: tokens to generate at most
  float temperature = 0.0f;    // --temp / -t: 0 = greedy
  float topP = 0.9f;           // --top-p
  int topK = 0;                // --top-k
  unsigned long long seed = 0; // --seed / -s; 0 = from the clock
  bool chat = false;           // --chat
  bool echo = false;           // --echo: print the prompt too (llama2.c does)
  int threads = 0;             // --threads: 0 = the runtime's default
  bool help = false;
};

/// Parses argv; false with a message on bad arguments.
bool parseArgs(int argc, const char *const *argv, Options &out,
               std::string &error);
std::string usage(const char *argv0);
/// "dir/model.so" -> "dir/model.tfcw".
std::string defaultWeightsPath(const std::string &modelPath);

} // namespace llamagen

#endif // TFC_EXAMPLES_LLAMAGENERATE_ARGS_H
