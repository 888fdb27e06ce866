//===- Args.cpp - bert-embed command line ---------------------------------===//

#include "Args.h"

#include <cerrno>
#include <cstdlib>

namespace bertembed {

static bool parseCount(const std::string &flag, const char *text, size_t min,
                       size_t &out, std::string &error) {
  char *end = nullptr;
  errno = 0;
  long long v = std::strtoll(text, &end, 10);
  if (!*text || *end || errno || v < static_cast<long long>(min) ||
      v > (1LL << 30)) {
    error = flag + " needs an integer >= " + std::to_string(min) + ", got '" +
            text + "'";
    return false;
  }
  out = static_cast<size_t>(v);
  return true;
}

bool parseArgs(int argc, const char *const *argv, bool linked, Options &out,
               std::string &error) {
  out = Options();
  bool endOfOptions = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (endOfOptions || a.empty() || a[0] != '-' || a == "-") {
      out.texts.push_back(a);
      continue;
    }
    if (a == "--") {
      endOfOptions = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      out.help = true;
      continue;
    }
    if (a == "--json") {
      out.json = true;
      continue;
    }
    if (a == "--stats") {
      out.stats = true;
      continue;
    }
    // Options with a value: "--flag VALUE" or "--flag=VALUE".
    std::string value;
    std::string flag = a;
    size_t eq = a.find('=');
    if (a.compare(0, 2, "--") == 0 && eq != std::string::npos) {
      flag = a.substr(0, eq);
      value = a.substr(eq + 1);
    } else {
      static const char *const withValue[] = {
          "-m", "--model", "--tokenizer", "--weights", "--max-len",
          "--batch", "--pairs", "--threads", "--cache-mb"};
      bool known = false;
      for (const char *f : withValue)
        known |= a == f;
      if (!known) {
        error = "unknown option '" + a + "'";
        return false;
      }
      if (i + 1 >= argc) {
        error = a + " needs a value";
        return false;
      }
      value = argv[++i];
    }
    size_t n;
    if (flag == "-m" || flag == "--model") {
      if (linked) {
        error = "this bert-embed has its model linked in; " + flag +
                " is not accepted";
        return false;
      }
      out.model = value;
    } else if (flag == "--tokenizer") {
      out.tokenizer = value;
    } else if (flag == "--weights") {
      out.weights = value;
    } else if (flag == "--pairs") {
      out.pairs = value;
    } else if (flag == "--max-len") {
      if (!parseCount(flag, value.c_str(), 2, n, error))
        return false;
      out.maxLen = n;
    } else if (flag == "--batch") {
      if (!parseCount(flag, value.c_str(), 1, n, error))
        return false;
      out.batch = n;
    } else if (flag == "--cache-mb") {
      if (!parseCount(flag, value.c_str(), 1, n, error))
        return false;
      out.cacheMb = n;
    } else if (flag == "--threads") {
      if (!parseCount(flag, value.c_str(), 1, n, error))
        return false;
      out.threads = static_cast<int>(n);
    } else {
      error = "unknown option '" + flag + "'";
      return false;
    }
  }
  if (out.help)
    return true;
  if (!linked && out.model.empty()) {
    error = "no model given (-m MODEL.so)";
    return false;
  }
  if (out.tokenizer.empty()) {
    error = "no tokenizer given (--tokenizer MODEL_DIR)";
    return false;
  }
  if (!out.pairs.empty() && !out.texts.empty()) {
    error = "give either --pairs FILE or texts, not both";
    return false;
  }
  if (out.weights.empty() && !out.model.empty())
    out.weights = defaultWeightsPath(out.model);
  return true;
}

std::string usage(const char *argv0, bool linked) {
  std::string u = "usage: ";
  u += argv0;
  u += linked ? "" : " -m MODEL.so";
  u += " --tokenizer MODEL_DIR [--weights W.tfcw] [--max-len N] [--batch N]\n"
       "       [--threads N] [--cache-mb N] [--stats] [--json]\n"
       "       [--pairs FILE | TEXT...]\n\n"
       "Embeds texts with a BERT-style encoder compiled by tfc: mean pooling "
       "over the\nattention mask, then L2 normalization.\n\n";
  if (!linked)
    u += "  -m, --model MODEL.so  compiled model (tfc --emit=shared)\n";
  u += "  --tokenizer PATH      Hugging Face model folder (tokenizer.json or "
       "vocab.txt),\n"
       "                        a tokenizer.json, or a GGUF vocabulary\n";
  u += linked ? "  --weights W.tfcw      weights file of the linked model\n"
              : "  --weights W.tfcw      weights (default: MODEL.so with "
                ".tfcw)\n";
  u += "  --max-len N           truncate to N tokens incl. [CLS]/[SEP] "
       "(default:\n"
       "                        max_seq_length of sentence_bert_config.json, "
       "else 512)\n"
       "  --batch N             texts per model call (default 32); each batch "
       "is padded\n"
       "                        to its longest text\n"
       "  --threads N           runtime threads (default: all cores)\n"
       "  --cache-mb N          result cache of N MB: each text is one model "
       "call\n"
       "                        (batch 1) whose result a repeated text reuses\n"
       "  --stats               on stderr: texts, time, and the cache's hits, "
       "misses\n"
       "                        and hit rate\n"
       "  --json                print {\"embeddings\": [[...], ...]} (or "
       "{\"similarities\": [...]})\n"
       "  --pairs FILE          tab-separated sentence pairs (STS-B layout or "
       "the last two\n"
       "                        columns): print one cosine similarity per "
       "line, and the\n"
       "                        Spearman correlation with the scores on "
       "stderr\n"
       "  TEXT...               texts to embed; without any (and without "
       "--pairs), one\n"
       "                        text per line from stdin\n\n"
       "Default output: one line per text with the first 8 dimensions of the "
       "normalized\nembedding and the norm of the pooled vector before "
       "normalization.\n";
  return u;
}

std::string defaultWeightsPath(const std::string &modelPath) {
  size_t slash = modelPath.find_last_of('/');
  size_t dot = modelPath.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash) ||
      dot == (slash == std::string::npos ? 0 : slash + 1))
    return modelPath + ".tfcw";
  return modelPath.substr(0, dot) + ".tfcw";
}

} // namespace bertembed
