//===- Args.cpp - llama-generate command line -----------------------------===//

#include "Args.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

namespace llamagen {

namespace {

bool parseInt(const std::string &s, long long lo, long long hi, long long &v) {
  if (s.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  v = std::strtoll(s.c_str(), &end, 10);
  return errno == 0 && *end == '\0' && v >= lo && v <= hi;
}

bool parseFloat(const std::string &s, float &v) {
  if (s.empty())
    return false;
  char *end = nullptr;
  errno = 0;
  v = std::strtof(s.c_str(), &end);
  return errno == 0 && *end == '\0' && std::isfinite(v);
}

} // namespace

std::string usage(const char *argv0) {
  std::string p = argv0 ? argv0 : "llama-generate";
  return "usage: " + p +
         " -m MODEL.so --tokenizer FILE_OR_DIR [-p PROMPT] [-n STEPS]\n"
         "       [--temp T] [--top-k K] [--top-p P] [--seed S] [--chat]\n"
         "       [--system TEXT] [--echo] [--weights W.tfcw] [--threads N]\n"
         "   or: " +
         p +
         " --tokenizer FILE_OR_DIR --tokenize TEXT\n"
         "\n"
         "Generates text with a decoder compiled by tfc (--emit=shared): the\n"
         "text goes to stdout as it is generated, statistics to stderr.\n"
         "  -m MODEL.so        compiled model; weights from MODEL.tfcw\n"
         "  --tokenizer PATH   llama2.c tokenizer.bin, SentencePiece .model,\n"
         "                     .gguf, tokenizer.json or a Hugging Face folder\n"
         "  -p PROMPT          prompt (default: start from BOS alone)\n"
         "  -n STEPS           tokens to generate at most (default 256)\n"
         "  --temp T, -t T     temperature; 0 = greedy (the default)\n"
         "  --top-p P          nucleus sampling, llama2.c's sample_topp;\n"
         "                     0 or 1 = off (default 0.9)\n"
         "  --top-k K          keep the K most likely tokens (default 0: off)\n"
         "  --seed S, -s S     RNG seed, llama2.c's xorshift (default: time)\n"
         "  --chat             wrap the prompt in the model's chat template\n"
         "                     (ChatML: <|im_start|>role ... <|im_end|>)\n"
         "  --system TEXT      chat system message (default: the template's)\n"
         "  --echo             print the prompt before the generated text\n"
         "  --tokenize TEXT    print the token ids of TEXT (no BOS) and exit\n"
         "Generation stops at -n tokens, or when the model produces BOS, EOS\n"
         "or another control token.\n";
}

bool parseArgs(int argc, const char *const *argv, Options &o,
               std::string &error) {
  o = Options();
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string &out) {
      if (i + 1 >= argc) {
        error = a + " needs a value";
        return false;
      }
      out = argv[++i];
      return true;
    };
    std::string v;
    long long n;
    if (a == "-h" || a == "--help") {
      o.help = true;
    } else if (a == "-m" || a == "--model") {
      if (!value(o.model))
        return false;
    } else if (a == "--weights") {
      if (!value(o.weights))
        return false;
    } else if (a == "--tokenizer" || a == "-z") {
      if (!value(o.tokenizer))
        return false;
    } else if (a == "-p" || a == "--prompt") {
      if (!value(o.prompt))
        return false;
      o.havePrompt = true;
    } else if (a == "--system") {
      if (!value(o.system))
        return false;
      o.haveSystem = true;
    } else if (a == "--tokenize") {
      if (!value(o.tokenize))
        return false;
      o.haveTokenize = true;
    } else if (a == "-n" || a == "--steps") {
      if (!value(v) || !parseInt(v, 0, 1 << 24, n)) {
        error = "-n needs a non-negative integer";
        return false;
      }
      o.steps = static_cast<int>(n);
    } else if (a == "--temp" || a == "-t") {
      if (!value(v) || !parseFloat(v, o.temperature) || o.temperature < 0) {
        error = a + " needs a number >= 0";
        return false;
      }
    } else if (a == "--top-p") {
      if (!value(v) || !parseFloat(v, o.topP) || o.topP < 0 || o.topP > 1) {
        error = "--top-p needs a number in [0, 1]";
        return false;
      }
    } else if (a == "--top-k") {
      if (!value(v) || !parseInt(v, 0, 1 << 30, n)) {
        error = "--top-k needs a non-negative integer";
        return false;
      }
      o.topK = static_cast<int>(n);
    } else if (a == "--seed" || a == "-s") {
      if (!value(v) || !parseInt(v, 0, (1LL << 62), n)) {
        error = a + " needs a non-negative integer";
        return false;
      }
      o.seed = static_cast<unsigned long long>(n);
    } else if (a == "--threads") {
      if (!value(v) || !parseInt(v, 1, 1024, n)) {
        error = "--threads needs a positive integer";
        return false;
      }
      o.threads = static_cast<int>(n);
    } else if (a == "--chat") {
      o.chat = true;
    } else if (a == "--echo") {
      o.echo = true;
    } else {
      error = "unknown argument '" + a + "'";
      return false;
    }
  }
  if (o.help)
    return true;
  if (o.tokenizer.empty()) {
    error = "--tokenizer is required";
    return false;
  }
  if (o.haveTokenize)
    return true;
  if (o.model.empty()) {
    error = "-m MODEL.so is required";
    return false;
  }
  if (o.chat && !o.havePrompt) {
    error = "--chat needs a prompt (-p)";
    return false;
  }
  if (o.weights.empty())
    o.weights = defaultWeightsPath(o.model);
  return true;
}

std::string defaultWeightsPath(const std::string &modelPath) {
  size_t slash = modelPath.find_last_of('/');
  size_t dot = modelPath.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash))
    return modelPath + ".tfcw";
  return modelPath.substr(0, dot) + ".tfcw";
}

} // namespace llamagen
