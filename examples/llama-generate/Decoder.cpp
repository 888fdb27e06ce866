//===- Decoder.cpp - logits of the next token from a compiled model -------===//

#include "Decoder.h"

#include <cstring>

namespace llamagen {

Decoder::~Decoder() = default;

bool planDecoderInputs(const std::vector<std::string> &names,
                       const std::vector<tfc_dtype> &dtypes,
                       const std::vector<int32_t> &ranks,
                       std::vector<InputKind> &kinds, std::string &error) {
  kinds.clear();
  bool haveIds = false;
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string &n = names[i];
    InputKind k;
    if (n == "input_ids" || n == "tokens" || n == "input")
      k = InputKind::TokenIds;
    else if (n == "attention_mask")
      k = InputKind::AttentionMask;
    else if (n == "position_ids")
      k = InputKind::PositionIds;
    else {
      error = "model input '" + n +
              "' is not one a decoder can fill (input_ids, attention_mask, "
              "position_ids); a KV-cache export needs the session API";
      return false;
    }
    if (dtypes[i] != TFC_DTYPE_I64 || ranks[i] != 2) {
      error = "model input '" + n + "' must be i64 [batch, sequence]";
      return false;
    }
    haveIds |= k == InputKind::TokenIds;
    kinds.push_back(k);
  }
  if (!haveIds) {
    error = "the model has no input_ids input";
    return false;
  }
  return true;
}

FullSequenceDecoder::~FullSequenceDecoder() {
  if (model)
    tfc_model_free(model);
}

static std::string runtimeError(const char *what, tfc_status s) {
  return std::string(what) + ": " + tfc_status_string(s) + ": " +
         tfc_last_error();
}

bool FullSequenceDecoder::loadShared(const std::string &library,
                                     const std::string &weights,
                                     std::string &error) {
  tfc_status s =
      tfc_model_load_shared(library.c_str(), weights.c_str(), &model);
  if (s != TFC_OK) {
    model = nullptr;
    error = runtimeError("loading the model", s);
    return false;
  }
  size_t n = tfc_model_num_inputs(model);
  std::vector<std::string> names(n);
  std::vector<tfc_dtype> dtypes(n);
  std::vector<int32_t> ranks(n);
  for (size_t i = 0; i < n; ++i) {
    const char *name = nullptr;
    int64_t dims[TFC_MAX_RANK];
    if ((s = tfc_model_input_info(model, i, &name, &dtypes[i], &ranks[i],
                                  dims)) != TFC_OK) {
      error = runtimeError("reading the model signature", s);
      return false;
    }
    names[i] = name ? name : "";
    if (ranks[i] == 2) {
      if (dims[0] > 1) {
        error = "the model's batch is fixed at " + std::to_string(dims[0]);
        return false;
      }
      if (dims[1] > 0)
        staticSeq = dims[1];
    }
  }
  if (!planDecoderInputs(names, dtypes, ranks, kinds, error))
    return false;
  if (staticSeq > 0) {
    error = "the model's sequence length is fixed at " +
            std::to_string(staticSeq) +
            "; generation needs a dynamic sequence dimension";
    return false;
  }
  numOutputs = tfc_model_num_outputs(model);
  const char *name = nullptr;
  tfc_dtype dt;
  int32_t rank;
  int64_t dims[TFC_MAX_RANK];
  if (numOutputs == 0 ||
      tfc_model_output_info(model, 0, &name, &dt, &rank, dims) != TFC_OK ||
      dt != TFC_DTYPE_F32 || rank != 3) {
    error = "the model's first output must be logits f32 [batch, sequence, "
            "vocab]";
    return false;
  }
  if (dims[2] > 0)
    vocab = static_cast<size_t>(dims[2]);
  return true;
}

bool FullSequenceDecoder::run(std::vector<float> &logits, std::string &error) {
  const int64_t len = static_cast<int64_t>(sequence.size());
  std::vector<int64_t> ones(sequence.size(), 1), positions(sequence.size());
  for (int64_t i = 0; i < len; ++i)
    positions[i] = i;
  std::vector<tfc_tensor> inputs(kinds.size());
  for (size_t i = 0; i < kinds.size(); ++i) {
    tfc_tensor &t = inputs[i];
    t.dtype = TFC_DTYPE_I64;
    t.rank = 2;
    t.shape[0] = 1;
    t.shape[1] = len;
    t.data = kinds[i] == InputKind::TokenIds        ? sequence.data()
             : kinds[i] == InputKind::AttentionMask ? ones.data()
                                                    : positions.data();
  }
  std::vector<tfc_tensor> outputs(numOutputs);
  tfc_status s = tfc_model_run(model, inputs.data(), inputs.size(),
                               outputs.data(), outputs.size());
  if (s != TFC_OK) {
    error = runtimeError("running the model", s);
    return false;
  }
  const tfc_tensor &out = outputs[0]; // [1, len, vocab]
  bool ok = out.dtype == TFC_DTYPE_F32 && out.rank == 3 && out.shape[0] == 1 &&
            out.shape[1] == len && out.shape[2] > 0;
  if (ok) {
    vocab = static_cast<size_t>(out.shape[2]);
    const float *last =
        static_cast<const float *>(out.data) + (len - 1) * vocab;
    logits.assign(last, last + vocab);
  } else {
    error = "the model returned logits of an unexpected shape";
  }
  for (tfc_tensor &t : outputs)
    tfc_tensor_free(&t);
  return ok;
}

bool FullSequenceDecoder::prefill(const std::vector<int32_t> &tokens,
                                  std::vector<float> &logits,
                                  std::string &error) {
  if (tokens.empty()) {
    error = "prefill needs at least one token";
    return false;
  }
  sequence.assign(tokens.begin(), tokens.end());
  return run(logits, error);
}

bool FullSequenceDecoder::step(int32_t token, std::vector<float> &logits,
                               std::string &error) {
  if (sequence.empty()) {
    error = "step before prefill";
    return false;
  }
  sequence.push_back(token);
  return run(logits, error);
}

} // namespace llamagen
