//===- EmbeddingModel.h - run a compiled encoder over texts -----*- C++ -*-===//
//
// Loads a model compiled by tfc (a shared library, or a descriptor linked
// into the executable), checks its signature with planModel, and turns texts
// into normalized embeddings batch by batch through libtfcrt.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_EXAMPLES_BERTEMBED_EMBEDDINGMODEL_H
#define TFC_EXAMPLES_BERTEMBED_EMBEDDINGMODEL_H

#include "ModelInputs.h"

#include <string>
#include <vector>

namespace bertembed {

class EmbeddingModel {
public:
  EmbeddingModel() = default;
  EmbeddingModel(const EmbeddingModel &) = delete;
  EmbeddingModel &operator=(const EmbeddingModel &) = delete;
  ~EmbeddingModel();

  /// tfc_model_load_shared: a model compiled with --emit=shared.
  bool loadShared(const std::string &library, const std::string &weights,
                  std::string &error);
  /// tfc_model_load: a model object linked into this executable.
  bool loadLinked(const tfc_model_desc *desc, const std::string &weights,
                  std::string &error);

  const ModelLayout &layout() const { return plan; }

  /// Runs every later call through a result cache of `bytes`
  /// (tfc_model_run_cached). The unit a cache entry holds is one model call,
  /// so embed() then gives each text its own call (batch 1, unpadded) unless
  /// the model has a static batch: a text that comes again is a hit.
  bool enableCache(uint64_t bytes, std::string &error);
  /// The cache's counters; false without a cache.
  bool cacheStats(tfc_cache_stats &stats) const;

  /// Embeds `texts`, `batchSize` at a time, each batch padded to its longest
  /// text (or to the model's static sequence length) and truncated to
  /// `maxLength` tokens. Appends [texts, dim] to `embeddings` and the
  /// pre-normalization norms to `norms`.
  bool embed(const tfc::tokenizer::Tokenizer &tokenizer,
             const std::vector<std::string> &texts, size_t batchSize,
             size_t maxLength, std::vector<float> &embeddings,
             std::vector<float> &norms, size_t &dim, std::string &error);

private:
  bool inspect(std::string &error);

  tfc_model *model = nullptr;
  tfc_cache *cache = nullptr;
  ModelLayout plan;
};

} // namespace bertembed

#endif // TFC_EXAMPLES_BERTEMBED_EMBEDDINGMODEL_H
