//===- ModelInputs.h - fit tokenized batches to a model's signature -*- C++ -*-//
//
// Which inputs a compiled encoder takes (input_ids, attention_mask,
// token_type_ids: any subset holding input_ids, in any order, i64 or i32,
// [batch, seq]) and what its first output is ([batch, seq, hidden] hidden
// states to mean-pool, or [batch, hidden] embeddings already pooled). Only the
// types of tfc_runtime.h are used, not the library, so this is unit-tested
// without a runtime.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_EXAMPLES_BERTEMBED_MODELINPUTS_H
#define TFC_EXAMPLES_BERTEMBED_MODELINPUTS_H

#include "tfc/Runtime/tfc_runtime.h"
#include "tfc/Tokenizer/Tokenizer.h"

#include <string>
#include <vector>

namespace bertembed {

struct TensorSpec {
  std::string name;
  tfc_dtype dtype = TFC_DTYPE_F32;
  int32_t rank = 0;
  int64_t dims[TFC_MAX_RANK] = {}; // -1 = dynamic
};

enum class InputKind { InputIds, AttentionMask, TokenTypeIds };

struct ModelLayout {
  std::vector<InputKind> inputs; // signature order
  std::vector<tfc_dtype> inputDtypes;
  int64_t staticBatch = -1; // fixed batch size, or -1
  int64_t staticSeq = -1;   // fixed sequence length, or -1
  size_t numOutputs = 0;
  bool outputPooled = false; // output 0 is [batch, hidden]
  tfc_dtype outputDtype = TFC_DTYPE_F32;
};

/// Checks the signature and fills `layout`; false with a message naming
/// the offending input or output.
bool planModel(const std::vector<TensorSpec> &inputs,
               const std::vector<TensorSpec> &outputs, ModelLayout &layout,
               std::string &error);

/// The input tensors of `batch` in signature order. They point into `batch`
/// (i64 inputs) or into `scratch` (i32 copies), which must outlive them.
std::vector<tfc_tensor>
makeInputTensors(const ModelLayout &layout,
                 const tfc::tokenizer::BatchEncoding &batch,
                 std::vector<std::vector<int32_t>> &scratch);

/// Turns output 0 of a run into L2-normalized embeddings [batch, dim] (mean
/// pooled over the attention mask when it has a sequence dim) and the norms
/// before normalization.
bool embeddingsFromOutput(const ModelLayout &layout, const tfc_tensor &output,
                          const tfc::tokenizer::BatchEncoding &batch,
                          std::vector<float> &embeddings,
                          std::vector<float> &norms, size_t &dim,
                          std::string &error);

} // namespace bertembed

#endif // TFC_EXAMPLES_BERTEMBED_MODELINPUTS_H
