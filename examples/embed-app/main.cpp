//===- main.cpp - an application with stories260K compiled in -------------===//
//
//   embed-app [STEPS [TOKENIZER.bin [WEIGHTS.tfcw]]]
//
// Greedy generation from BOS with the model that tfc_add_model compiled into
// this executable at build time (CMakeLists.txt): every step runs the
// full-sequence entry on the tokens so far and appends the argmax of the
// last position's logits. The run goes through libtfcrt's result cache and
// generates the text twice: the second pass repeats every input, so every
// step is a cache hit and the text must come out the same. Prints the text
// the way llama2.c does (tok512.bin pieces).
//
//===----------------------------------------------------------------------===//

#include "stories.h" // written by tfc: declares tfc_stories_desc
#include "tfc_runtime.h"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace {

int fail(const std::string &what) {
  std::fprintf(stderr, "embed-app: %s: %s\n", what.c_str(), tfc_last_error());
  return 1;
}

/// Pieces of a llama2.c tokenizer file: max_token_length, then per token a
/// float score, an int length and the bytes.
bool readPieces(const std::string &path, std::vector<std::string> &pieces) {
  std::ifstream in(path, std::ios::binary);
  int32_t maxLen = 0;
  if (!in.read(reinterpret_cast<char *>(&maxLen), 4))
    return false;
  float score;
  int32_t n;
  while (in.read(reinterpret_cast<char *>(&score), 4) &&
         in.read(reinterpret_cast<char *>(&n), 4)) {
    if (n < 0 || n > 4096)
      return false;
    std::string piece(static_cast<size_t>(n), '\0');
    if (!in.read(&piece[0], n))
      return false;
    pieces.push_back(piece);
  }
  return !pieces.empty();
}

std::string detokenize(const std::vector<int64_t> &ids,
                       const std::vector<std::string> &pieces) {
  std::string out;
  for (size_t i = 1; i < ids.size(); ++i) {
    if (ids[i] < 0 || static_cast<size_t>(ids[i]) >= pieces.size())
      return out + "<?>";
    std::string p = pieces[static_cast<size_t>(ids[i])];
    if (ids[i - 1] == 1 && !p.empty() && p[0] == ' ')
      p.erase(0, 1);
    unsigned byte;
    if (p.size() == 6 && std::sscanf(p.c_str(), "<0x%02X>", &byte) == 1)
      p = std::string(1, static_cast<char>(byte));
    if (p.size() == 1 && !(std::isprint(static_cast<unsigned char>(p[0])) ||
                           std::isspace(static_cast<unsigned char>(p[0]))))
      continue;
    out += p;
  }
  return out;
}

/// Greedy tokens from BOS (id 1) until `steps` more or BOS again.
bool generate(tfc_model *model, tfc_cache *cache, int steps,
              std::vector<int64_t> &ids) {
  ids.assign(1, 1);
  for (int s = 0; s < steps; ++s) {
    int64_t n = static_cast<int64_t>(ids.size());
    std::vector<int64_t> mask(ids.size(), 1);
    tfc_tensor in[2] = {{TFC_DTYPE_I64, 2, {1, n}, ids.data()},
                        {TFC_DTYPE_I64, 2, {1, n}, mask.data()}};
    tfc_tensor logits;
    if (tfc_model_run_cached(model, cache, in, 2, &logits, 1) != TFC_OK)
      return false;
    // logits [1, n, vocab]
    int64_t vocab = logits.shape[2];
    const float *last =
        static_cast<const float *>(logits.data) + (n - 1) * vocab;
    int64_t best = 0;
    for (int64_t v = 1; v < vocab; ++v)
      if (last[v] > last[best])
        best = v;
    tfc_tensor_free(&logits);
    if (best == 1)
      break;
    ids.push_back(best);
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  int steps = argc > 1 ? std::atoi(argv[1]) : 40;
  std::string tokenizer = argc > 2 ? argv[2] : STORIES_TOKENIZER;
  // Built by tfc_add_model: the weights file in the build tree.
  std::string weights = argc > 3 ? argv[3] : TFC_MODEL_STORIES_WEIGHTS;
  if (steps < 1 || steps > 1000) {
    std::fprintf(stderr, "usage: embed-app [STEPS (1..1000) [TOKENIZER.bin "
                         "[WEIGHTS.tfcw]]]\n");
    return 2;
  }
  std::vector<std::string> pieces;
  if (!readPieces(tokenizer, pieces)) {
    std::fprintf(stderr, "embed-app: cannot read tokenizer '%s'\n",
                 tokenizer.c_str());
    return 1;
  }
  tfc_model *model = nullptr;
  if (tfc_model_load(&tfc_stories_desc, weights.c_str(), &model) != TFC_OK)
    return fail("loading the model");
  tfc_cache *cache = nullptr;
  if (tfc_cache_create(64u << 20, &cache) != TFC_OK)
    return fail("creating the cache");
  std::vector<int64_t> first, second;
  bool ok = generate(model, cache, steps, first) &&
            generate(model, cache, steps, second);
  tfc_cache_stats stats;
  tfc_cache_get_stats(cache, &stats);
  tfc_cache_free(cache);
  tfc_model_free(model);
  if (!ok)
    return fail("running the model");
  std::printf("%s\n", detokenize(first, pieces).c_str());
  std::fprintf(
      stderr, "model '%s': %zu tokens; cache: %llu hits, %llu misses\n",
      tfc_stories_desc.name, first.size() - 1, (unsigned long long)stats.hits,
      (unsigned long long)stats.misses);
  if (second != first) {
    std::fprintf(stderr, "embed-app: the cached pass generated other tokens\n");
    return 1;
  }
  return 0;
}
