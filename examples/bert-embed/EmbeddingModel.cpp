//===- EmbeddingModel.cpp - run a compiled encoder over texts -------------===//

#include "EmbeddingModel.h"

#include <algorithm>

namespace bertembed {

using tfc::tokenizer::BatchEncoding;
using tfc::tokenizer::BatchOptions;
using tfc::tokenizer::Status;

EmbeddingModel::~EmbeddingModel() {
  tfc_cache_free(cache);
  if (model)
    tfc_model_free(model);
}

bool EmbeddingModel::enableCache(uint64_t bytes, std::string &error) {
  tfc_cache_free(cache);
  cache = nullptr;
  if (tfc_cache_create(bytes, &cache) != TFC_OK) {
    error = std::string("creating the result cache: ") + tfc_last_error();
    return false;
  }
  return true;
}

bool EmbeddingModel::cacheStats(tfc_cache_stats &stats) const {
  return cache && tfc_cache_get_stats(cache, &stats) == TFC_OK;
}

static std::string runtimeError(const char *what, tfc_status s) {
  return std::string(what) + ": " + tfc_status_string(s) + ": " +
         tfc_last_error();
}

bool EmbeddingModel::loadShared(const std::string &library,
                                const std::string &weights,
                                std::string &error) {
  tfc_status s = tfc_model_load_shared(library.c_str(), weights.c_str(), &model);
  if (s != TFC_OK) {
    model = nullptr;
    error = runtimeError("loading the model", s);
    return false;
  }
  return inspect(error);
}

bool EmbeddingModel::loadLinked(const tfc_model_desc *desc,
                                const std::string &weights,
                                std::string &error) {
  tfc_status s = tfc_model_load(desc, weights.empty() ? nullptr : weights.c_str(),
                                &model);
  if (s != TFC_OK) {
    model = nullptr;
    error = runtimeError("loading the linked model", s);
    return false;
  }
  return inspect(error);
}

bool EmbeddingModel::inspect(std::string &error) {
  std::vector<TensorSpec> inputs(tfc_model_num_inputs(model));
  std::vector<TensorSpec> outputs(tfc_model_num_outputs(model));
  for (size_t pass = 0; pass < 2; ++pass) {
    std::vector<TensorSpec> &specs = pass == 0 ? inputs : outputs;
    for (size_t i = 0; i < specs.size(); ++i) {
      const char *name = nullptr;
      tfc_status s =
          pass == 0 ? tfc_model_input_info(model, i, &name, &specs[i].dtype,
                                           &specs[i].rank, specs[i].dims)
                    : tfc_model_output_info(model, i, &name, &specs[i].dtype,
                                            &specs[i].rank, specs[i].dims);
      if (s != TFC_OK) {
        error = runtimeError("reading the model signature", s);
        return false;
      }
      specs[i].name = name ? name : "";
    }
  }
  return planModel(inputs, outputs, plan, error);
}

bool EmbeddingModel::embed(const tfc::tokenizer::Tokenizer &tokenizer,
                           const std::vector<std::string> &texts,
                           size_t batchSize, size_t maxLength,
                           std::vector<float> &embeddings,
                           std::vector<float> &norms, size_t &dim,
                           std::string &error) {
  if (!model) {
    error = "no model loaded";
    return false;
  }
  BatchOptions opts;
  opts.maxLength = maxLength;
  if (plan.staticSeq > 0) {
    // A model compiled for one length takes exactly that many tokens.
    opts.maxLength = static_cast<size_t>(plan.staticSeq);
    opts.padToMaxLength = true;
  }
  if (plan.staticBatch > 0)
    batchSize = static_cast<size_t>(plan.staticBatch);
  else if (cache)
    batchSize = 1; // one cache entry per text
  for (size_t first = 0; first < texts.size(); first += batchSize) {
    size_t count = std::min(batchSize, texts.size() - first);
    std::vector<std::string> chunk(texts.begin() + first,
                                   texts.begin() + first + count);
    // A static batch is filled up with empty texts whose results are dropped.
    if (plan.staticBatch > 0)
      chunk.resize(batchSize);
    BatchEncoding batch;
    Status st = encodeBatch(tokenizer, chunk, opts, batch);
    if (!st.ok()) {
      error = "tokenizing text " + std::to_string(first) + "..: " +
              st.message();
      return false;
    }
    std::vector<std::vector<int32_t>> scratch;
    std::vector<tfc_tensor> inputs = makeInputTensors(plan, batch, scratch);
    std::vector<tfc_tensor> outputs(plan.numOutputs);
    tfc_status s = tfc_model_run_cached(model, cache, inputs.data(),
                                        inputs.size(), outputs.data(),
                                        outputs.size());
    if (s != TFC_OK) {
      error = runtimeError("running the model", s);
      return false;
    }
    std::vector<float> e, n;
    size_t d = 0;
    bool ok = embeddingsFromOutput(plan, outputs[0], batch, e, n, d, error);
    for (tfc_tensor &t : outputs)
      tfc_tensor_free(&t);
    if (!ok)
      return false;
    if (first > 0 && d != dim) {
      error = "the hidden size changed between batches";
      return false;
    }
    dim = d;
    embeddings.insert(embeddings.end(), e.begin(), e.begin() + count * d);
    norms.insert(norms.end(), n.begin(), n.begin() + count);
  }
  return true;
}

} // namespace bertembed
