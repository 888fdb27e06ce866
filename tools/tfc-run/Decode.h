//===- Decode.h - tfc-run --decode: KV-cache session checks and bench -----===//
#ifndef TFC_TOOLS_TFCRUN_DECODE_H
#define TFC_TOOLS_TFCRUN_DECODE_H

#include "WeightsInfo.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <string>
#include <vector>

namespace tfcrun {

/// "rank R: " in a multi-rank job (error messages), "" otherwise.
inline std::string rankPrefix() {
  return tfc_dist_size() > 1 ? "rank " + std::to_string(tfc_dist_rank()) + ": "
                             : std::string();
}

struct DecodeOptions {
  int steps = 0;      // greedy decode steps after the prefill
  int64_t maxLen = 0; // session max_len (0: the model's default)
  int64_t chunk = 0;  // prefill in chunks of this many tokens (0: one)
  double atol = 1e-4, rtol = 1e-4;
  // atol raised to 1e-5 of the full run's largest |logit| (--atol not
  // given): two fp32 summation orders over a deep model differ by that much
  // on logits near zero (SmolLM2 fp32, 64 steps on Zen 3: 1.4e-4 with logits
  // up to ~38), the tolerance the partitioned runs use too (DESIGN.md).
  bool atolScaled = false;
  bool check = true; // compare with the full-sequence entry
  bool bench = false;
  int iters = 3;       // timed repetitions of prefill + decode
  std::string outputs; // .npz with tokens and logits
  bool json = false;    // --json: text to stderr, one JSON object to stdout
  uint64_t weightsBytes = 0;            // the .tfcw file's size
  std::vector<WeightsClassRow> weights; // per op class (--bench, --json)
  bool profile = false; // --profile: per op class over the last bench
                        // repetition's decode steps (per step)
  std::string trace;    // --trace F: a Chrome trace of the last bench
                        // repetition's decode steps, written to F
};

/// Prefills a session with the prompt in `inputs` (the main entry's inputs:
/// input_ids [b, L] and optionally attention_mask [b, L]), decodes
/// `steps` greedy tokens, checks every position's logits against the main
/// entry run on the whole sequence, a forked session and the session's
/// memory behaviour, and prints a report. Returns the exit status.
int runDecode(tfc_model *model, const std::vector<std::string> &inputNames,
              const std::vector<tfc_tensor> &inputs, const DecodeOptions &o);

} // namespace tfcrun

#endif
