//===- bert-embed.cpp - sentence embeddings with a compiled encoder -------===//
//
//   bert-embed -m out/model.so --tokenizer MODEL_DIR [--weights W.tfcw]
//              [--max-len N] [--batch N] [--threads N] [--json]
//              [--cache-mb N] [--stats] [--pairs FILE | TEXT...]
//
// Tokenizes (tfc_tokenizer), runs the model (libtfcrt), mean-pools the first
// output over the attention mask and L2-normalizes, as sentence-transformers
// does for all-MiniLM-L6-v2 and friends. See README.md.
//
// Built a second way by tfc_add_linked_bert_embed (CMakeLists.txt): with
// -DTFC_LINKED_MODEL_HEADER="model.h" -DTFC_LINKED_MODEL_DESC=tfc_<name>_desc
// the model object is linked in and loaded with tfc_model_load; -m is then
// refused and the weights come from --weights (default:
// TFC_LINKED_MODEL_WEIGHTS when defined).
//
//===----------------------------------------------------------------------===//

#include "Args.h"
#include "EmbedMath.h"
#include "EmbeddingModel.h"
#include "Pairs.h"

#include "tfc/Tokenizer/Loader.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sys/stat.h>

#ifdef TFC_LINKED_MODEL_HEADER
#include TFC_LINKED_MODEL_HEADER
extern "C" const tfc_model_desc TFC_LINKED_MODEL_DESC;
static constexpr bool kLinked = true;
#else
static constexpr bool kLinked = false;
#endif

using namespace bertembed;
using tfc::tokenizer::Status;
using tfc::tokenizer::Tokenizer;

namespace {

const char *const kProg = "bert-embed";

int fail(const std::string &message) {
  std::fprintf(stderr, "%s: %s\n", kProg, message.c_str());
  return 1;
}

bool isDirectory(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// sentence-transformers keeps its truncation length in
// sentence_bert_config.json; 0 when absent or unreadable.
size_t sentenceBertMaxLength(const std::string &tokenizerPath) {
  if (!isDirectory(tokenizerPath))
    return 0;
  std::ifstream in(tokenizerPath + "/sentence_bert_config.json");
  if (!in)
    return 0;
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("max_seq_length") ||
      !j["max_seq_length"].is_number_integer())
    return 0;
  int64_t v = j["max_seq_length"].get<int64_t>();
  return v >= 2 ? static_cast<size_t>(v) : 0;
}

void printNumber(double v) {
  if (std::isfinite(v))
    std::printf("%.7g", v);
  else
    std::printf("null");
}

} // namespace

int main(int argc, char **argv) {
  Options opt;
  std::string error;
  if (!parseArgs(argc, argv, kLinked, opt, error)) {
    std::fprintf(stderr, "%s: %s\n(see %s --help)\n", kProg, error.c_str(),
                 kProg);
    return 2;
  }
  if (opt.help) {
    std::fputs(usage(kProg, kLinked).c_str(), stdout);
    return 0;
  }
  if (opt.threads > 0)
    tfc_set_num_threads(opt.threads);

  std::unique_ptr<Tokenizer> tokenizer;
  Status st = tfc::tokenizer::loadTokenizer(opt.tokenizer, tokenizer);
  if (!st.ok())
    return fail("tokenizer: " + st.message());
  size_t maxLen = opt.maxLen;
  if (maxLen == 0)
    maxLen = sentenceBertMaxLength(opt.tokenizer);
  if (maxLen == 0)
    maxLen = 512;

  EmbeddingModel model;
#ifdef TFC_LINKED_MODEL_HEADER
  std::string weights = opt.weights;
#ifdef TFC_LINKED_MODEL_WEIGHTS
  if (weights.empty())
    weights = TFC_LINKED_MODEL_WEIGHTS;
#endif
  if (!model.loadLinked(&TFC_LINKED_MODEL_DESC, weights, error))
    return fail(error);
#else
  if (!model.loadShared(opt.model, opt.weights, error))
    return fail(error);
#endif

  if (opt.cacheMb > 0 &&
      !model.enableCache(static_cast<uint64_t>(opt.cacheMb) << 20, error))
    return fail(error);

  // The texts: pairs (first sentences, then second ones), arguments, or
  // stdin lines.
  std::vector<SentencePair> pairs;
  std::vector<std::string> texts;
  if (!opt.pairs.empty()) {
    if (!readPairs(opt.pairs, pairs, error))
      return fail(error);
    for (const SentencePair &p : pairs)
      texts.push_back(p.first);
    for (const SentencePair &p : pairs)
      texts.push_back(p.second);
  } else if (!opt.texts.empty()) {
    texts = opt.texts;
  } else {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r')
        line.pop_back();
      texts.push_back(line);
    }
  }

  std::vector<float> emb, norms; // [texts, dim], [texts]
  size_t dim = 0;
  auto t0 = std::chrono::steady_clock::now();
  if (!model.embed(*tokenizer, texts, opt.batch, maxLen, emb, norms, dim,
                   error))
    return fail(error);
  if (opt.stats) {
    double s = std::chrono::duration<double>(
                   std::chrono::steady_clock::now() - t0)
                   .count();
    std::fprintf(stderr, "embedded %zu texts in %.3f s (%.1f texts/s)\n",
                 texts.size(), s, s > 0 ? texts.size() / s : 0.0);
    tfc_cache_stats cs;
    if (model.cacheStats(cs)) {
      uint64_t lookups = cs.hits + cs.misses;
      std::fprintf(stderr,
                   "cache: %llu hits, %llu misses, hit rate %.1f%%; %llu "
                   "entries, %.2f of %.2f MB, %llu evictions\n",
                   (unsigned long long)cs.hits, (unsigned long long)cs.misses,
                   lookups ? 100.0 * cs.hits / lookups : 0.0,
                   (unsigned long long)cs.entries, cs.bytes / 1048576.0,
                   cs.capacity_bytes / 1048576.0,
                   (unsigned long long)cs.evictions);
    } else {
      std::fprintf(stderr, "cache: none (--cache-mb N)\n");
    }
  }

  if (!opt.pairs.empty()) {
    size_t n = pairs.size();
    std::vector<double> sims(n), scored, scores;
    for (size_t i = 0; i < n; ++i) {
      // Both sides are unit vectors, but compute the full cosine anyway.
      sims[i] = cosine(&emb[i * dim], &emb[(n + i) * dim], dim);
      if (pairs[i].hasScore) {
        scored.push_back(sims[i]);
        scores.push_back(pairs[i].score);
      }
    }
    if (opt.json) {
      std::printf("{\"similarities\": [");
      for (size_t i = 0; i < n; ++i) {
        std::printf(i ? ", " : "");
        printNumber(sims[i]);
      }
      std::printf("]}\n");
    } else {
      for (double s : sims)
        std::printf("%.6f\n", s);
    }
    if (!scored.empty())
      std::fprintf(stderr, "spearman: %.4f (%zu scored pairs of %zu)\n",
                   spearman(scored, scores), scored.size(), n);
    return 0;
  }

  if (opt.json) {
    std::printf("{\"embeddings\": [");
    for (size_t i = 0; i < texts.size(); ++i) {
      std::printf(i ? ",\n  [" : "\n  [");
      for (size_t k = 0; k < dim; ++k) {
        std::printf(k ? ", " : "");
        printNumber(emb[i * dim + k]);
      }
      std::printf("]");
    }
    std::printf("%s]}\n", texts.empty() ? "" : "\n");
    return 0;
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    std::printf("%zu:", i);
    for (size_t k = 0; k < std::min<size_t>(8, dim); ++k)
      std::printf(" %+.5f", emb[i * dim + k]);
    std::printf("%s (dim %zu, pooled norm %.5f)\n", dim > 8 ? " ..." : "", dim,
                norms[i]);
  }
  return 0;
}
