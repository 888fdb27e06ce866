//===- ModelInputs.cpp - fit tokenized batches to a model's signature -----===//

#include "ModelInputs.h"

#include "EmbedMath.h"

namespace bertembed {

static const char *dtypeName(tfc_dtype t) {
  switch (t) {
  case TFC_DTYPE_F32:
    return "f32";
  case TFC_DTYPE_F16:
    return "f16";
  case TFC_DTYPE_BF16:
    return "bf16";
  case TFC_DTYPE_F64:
    return "f64";
  case TFC_DTYPE_I64:
    return "i64";
  case TFC_DTYPE_I32:
    return "i32";
  case TFC_DTYPE_I8:
    return "i8";
  case TFC_DTYPE_U8:
    return "u8";
  case TFC_DTYPE_BOOL:
    return "bool";
  }
  return "?";
}

bool planModel(const std::vector<TensorSpec> &inputs,
               const std::vector<TensorSpec> &outputs, ModelLayout &layout,
               std::string &error) {
  layout = ModelLayout();
  bool sawIds = false;
  std::vector<bool> seen(3, false);
  for (const TensorSpec &in : inputs) {
    InputKind kind;
    if (in.name == "input_ids")
      kind = InputKind::InputIds;
    else if (in.name == "attention_mask")
      kind = InputKind::AttentionMask;
    else if (in.name == "token_type_ids")
      kind = InputKind::TokenTypeIds;
    else {
      error = "model input '" + in.name +
              "' is not one bert-embed can fill (input_ids, attention_mask, "
              "token_type_ids)";
      return false;
    }
    if (seen[static_cast<int>(kind)]) {
      error = "model has input '" + in.name + "' twice";
      return false;
    }
    seen[static_cast<int>(kind)] = true;
    sawIds |= kind == InputKind::InputIds;
    if (in.rank != 2) {
      error = "model input '" + in.name + "' has rank " +
              std::to_string(in.rank) + ", expected 2 [batch, seq]";
      return false;
    }
    if (in.dtype != TFC_DTYPE_I64 && in.dtype != TFC_DTYPE_I32) {
      error = "model input '" + in.name + "' is " + dtypeName(in.dtype) +
              ", expected i64 (or i32)";
      return false;
    }
    for (int d = 0; d < 2; ++d) {
      int64_t &fixed = d == 0 ? layout.staticBatch : layout.staticSeq;
      if (in.dims[d] < 0)
        continue;
      if (in.dims[d] == 0 || (fixed >= 0 && fixed != in.dims[d])) {
        error = "model input '" + in.name + "' has an unusable static dim " +
                std::to_string(in.dims[d]);
        return false;
      }
      fixed = in.dims[d];
    }
    layout.inputs.push_back(kind);
    layout.inputDtypes.push_back(in.dtype);
  }
  if (!sawIds) {
    error = "model has no 'input_ids' input";
    return false;
  }
  if (outputs.empty()) {
    error = "model has no outputs";
    return false;
  }
  const TensorSpec &out = outputs[0];
  if (out.rank != 3 && out.rank != 2) {
    error = "model output '" + out.name + "' has rank " +
            std::to_string(out.rank) +
            ", expected [batch, seq, hidden] or [batch, hidden]";
    return false;
  }
  if (out.dtype != TFC_DTYPE_F32 && out.dtype != TFC_DTYPE_F16 &&
      out.dtype != TFC_DTYPE_BF16 && out.dtype != TFC_DTYPE_F64) {
    error = "model output '" + out.name + "' is " + dtypeName(out.dtype) +
            ", expected a float type";
    return false;
  }
  layout.numOutputs = outputs.size();
  layout.outputPooled = out.rank == 2;
  layout.outputDtype = out.dtype;
  return true;
}

std::vector<tfc_tensor>
makeInputTensors(const ModelLayout &layout,
                 const tfc::tokenizer::BatchEncoding &batch,
                 std::vector<std::vector<int32_t>> &scratch) {
  std::vector<tfc_tensor> tensors;
  scratch.assign(layout.inputs.size(), {});
  for (size_t i = 0; i < layout.inputs.size(); ++i) {
    const std::vector<int64_t> &src =
        layout.inputs[i] == InputKind::InputIds        ? batch.inputIds
        : layout.inputs[i] == InputKind::AttentionMask ? batch.attentionMask
                                                       : batch.tokenTypeIds;
    tfc_tensor t{};
    t.dtype = layout.inputDtypes[i];
    t.rank = 2;
    t.shape[0] = static_cast<int64_t>(batch.batchSize);
    t.shape[1] = static_cast<int64_t>(batch.seqLen);
    if (t.dtype == TFC_DTYPE_I32) {
      scratch[i].assign(src.begin(), src.end());
      t.data = scratch[i].data();
    } else {
      // The runtime reads inputs only; the C API just has no const.
      t.data = const_cast<int64_t *>(src.data());
    }
    tensors.push_back(t);
  }
  return tensors;
}

bool embeddingsFromOutput(const ModelLayout &layout, const tfc_tensor &output,
                          const tfc::tokenizer::BatchEncoding &batch,
                          std::vector<float> &embeddings,
                          std::vector<float> &norms, size_t &dim,
                          std::string &error) {
  int32_t want = layout.outputPooled ? 2 : 3;
  if (output.rank != want || output.dtype != layout.outputDtype) {
    error = "output 0 does not match the model signature";
    return false;
  }
  if (output.shape[0] != static_cast<int64_t>(batch.batchSize) ||
      (!layout.outputPooled &&
       output.shape[1] != static_cast<int64_t>(batch.seqLen))) {
    error = "output 0 has shape [" + std::to_string(output.shape[0]) + ", " +
            std::to_string(output.shape[1]) + ", ...] for a batch of " +
            std::to_string(batch.batchSize) + " x " +
            std::to_string(batch.seqLen) + " tokens";
    return false;
  }
  dim = static_cast<size_t>(output.shape[want - 1]);
  size_t count = batch.batchSize * dim *
                 (layout.outputPooled ? 1 : batch.seqLen);
  if (count && !output.data) {
    error = "output 0 has no data";
    return false;
  }
  // [batch, seq, dim] or [batch, dim] as float.
  std::vector<float> values(count);
  for (size_t i = 0; i < count; ++i) {
    switch (output.dtype) {
    case TFC_DTYPE_F32:
      values[i] = static_cast<const float *>(output.data)[i];
      break;
    case TFC_DTYPE_F64:
      values[i] = static_cast<float>(static_cast<const double *>(output.data)[i]);
      break;
    case TFC_DTYPE_F16:
      values[i] = halfToFloat(static_cast<const uint16_t *>(output.data)[i]);
      break;
    default:
      values[i] = bf16ToFloat(static_cast<const uint16_t *>(output.data)[i]);
      break;
    }
  }
  if (layout.outputPooled)
    embeddings = std::move(values);
  else
    embeddings = meanPool(values.data(), batch.attentionMask.data(),
                          batch.batchSize, batch.seqLen, dim);
  norms = l2NormalizeRows(embeddings, batch.batchSize, dim);
  return true;
}

} // namespace bertembed
