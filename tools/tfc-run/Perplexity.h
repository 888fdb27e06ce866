//===- Perplexity.h - tfc-run --perplexity: strided sliding-window PPL ----===//
#ifndef TFC_TOOLS_TFCRUN_PERPLEXITY_H
#define TFC_TOOLS_TFCRUN_PERPLEXITY_H

#include "tfc/Runtime/tfc_runtime.h"

#include <string>

namespace tfcrun {

struct PerplexityOptions {
  std::string tokens; // text file of whitespace-separated token ids
  int context = 0;    // window length C
  int stride = 0;     // window step S (0: C)
  int maxChunks = 0;  // windows to evaluate (0: all)
  int batch = 1;      // full-length windows per tfc_model_run
  bool json = false;
};

/// Perplexity of a decoder over a token sequence, HF's strided sliding
/// window: windows of C tokens starting every S tokens; each scores the
/// tokens not scored by the previous one (the first all but its first
/// token) with NLL = -log softmax(logits[t-1])[token t] in double; ppl =
/// exp(mean NLL). Each window runs through the full-sequence entry
/// (input_ids [B, C], attention_mask ones). Prints a report; returns the
/// exit status.
int runPerplexity(tfc_model *model, const PerplexityOptions &o);

} // namespace tfcrun

#endif
