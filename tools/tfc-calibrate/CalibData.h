//===- CalibData.h - calibration samples for tfc-calibrate ------*- C++ -*-===//
//
// What the model runs on while tfc-calibrate observes it. A sample is one
// model call: a set of named i64 tensors.
//   - sentences (encoders): the text column(s) of an STS-B style file
//     (tab-separated; sentences in columns 6 and 7) or one sentence per
//     line, each tokenized with the model's tokenizer and its template
//     ([CLS] ... [SEP]), cut at seq-len, run alone (batch 1, no padding, so
//     no padded position reaches the statistics);
//   - windows (decoders): the whole text tokenized without BOS (as the
//     perplexity evaluation does) and cut into consecutive windows of
//     seq-len tokens, batch 1;
//   - an .npz of inputs: arrays named like the model's inputs (one call),
//     or case<k>_<input> (one call per k; tfc-run's reference files).
// Inputs are filled by name: input_ids, attention_mask (ones),
// token_type_ids (zeros), position_ids (0..n-1).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TOOLS_TFCCALIBRATE_CALIBDATA_H
#define TFC_TOOLS_TFCCALIBRATE_CALIBDATA_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace tfccalib {

struct Tensor {
  std::vector<int64_t> shape;
  std::vector<int64_t> data;
};
using Sample = std::map<std::string, Tensor>;

enum class Mode { Auto, Sentences, Windows };

struct DataOptions {
  std::string path;      // text / csv / npz
  std::string tokenizer; // for text
  Mode mode = Mode::Auto;
  int64_t samples = 128;
  int64_t seqLen = 0; // 0: 128 for sentences, 512 for windows
};

/// Token sequences (text) or ready samples (npz). False with a message.
bool loadSamples(const DataOptions &o,
                 const std::vector<std::string> &inputNames,
                 std::vector<Sample> &out, std::string &describe,
                 std::string &error);

/// The inputs of a model call on one token sequence, by input name.
bool sampleFromIds(const std::vector<int64_t> &ids,
                   const std::vector<std::string> &inputNames, Sample &out,
                   std::string &error);

} // namespace tfccalib

#endif
