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
  // --stream N: the first N tokens (0: all) through one KV-cache session
  // instead (runStreamPerplexity); -1: windows.
  int64_t stream = -1;
  int chunk = 0;  // tokens per tfc_session_prefill call (0: 512)
  int maxLen = 0; // session max_len (0: the tokens streamed)
  int bucket = 0; // report the perplexity per span of this many positions
                  // (0: 1024)
};

/// Perplexity of a decoder over a token sequence, HF's strided sliding
/// window: windows of C tokens starting every S tokens; each scores the
/// tokens not scored by the previous one (the first all but its first
/// token) with NLL = -log softmax(logits[t-1])[token t] in double; ppl =
/// exp(mean NLL). Each window runs through the full-sequence entry
/// (input_ids [B, C], attention_mask ones). Prints a report; returns the
/// exit status.
int runPerplexity(tfc_model *model, const PerplexityOptions &o);

/// Perplexity of a KV-cache decoder streaming one long sequence: the
/// tokens go through one session (tfc_session_prefill, `chunk` tokens a
/// call; a ring session of a `--kv-evict` model streams without end), token
/// t scored from the logits at position t - 1 (the step must return every
/// position: not a `--kv-logits=last` model). Reports the whole sequence's
/// perplexity and one per bucket of positions, which shows whether the
/// model stays stable past its trained context (StreamingLLM's test).
int runStreamPerplexity(tfc_model *model, const PerplexityOptions &o);

} // namespace tfcrun

#endif
