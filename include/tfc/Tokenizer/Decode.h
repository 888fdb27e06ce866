//===- Decode.h - streaming ids -> text -------------------------*- C++ -*-===//
//
// Turns tokens into text as they are generated. A token may end in the middle
// of a UTF-8 sequence (byte-fallback pieces, byte-level BPE tokens), so the
// decoder holds back an incomplete sequence until the bytes that complete it
// arrive, and only ever hands out whole, valid UTF-8: bytes that cannot
// start or continue a sequence come out as U+FFFD, as Hugging Face decodes.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TOKENIZER_DECODE_H
#define TFC_TOKENIZER_DECODE_H

#include "tfc/Tokenizer/Tokenizer.h"

#include <string>

namespace tfc {
namespace tokenizer {

/// Length of the longest prefix of `bytes` that holds no incomplete UTF-8
/// sequence at its end (a lead byte followed by fewer continuation bytes
/// than it announces, all of them valid so far).
size_t completeUtf8Prefix(std::string_view bytes);
/// Replaces invalid UTF-8 by U+FFFD (one per maximal invalid subpart).
std::string sanitizeUtf8(std::string_view bytes);

class StreamDecoder {
public:
  /// `special`: also print special tokens (control, added) as their text.
  explicit StreamDecoder(const Tokenizer &tokenizer, bool special = false)
      : tok(tokenizer), special(special) {}

  /// Feeds one token; returns the text that is now complete (maybe "").
  /// The tokenizer's BOS resets the leading-space rule
  /// (decodeStripsLeadingSpace), as llama2.c does.
  std::string push(int32_t id);
  /// The held-back bytes of an incomplete sequence at the end, as U+FFFD.
  std::string finish();
  /// Back to the state of a new stream.
  void reset() {
    pending.clear();
    atStart = true;
  }

private:
  const Tokenizer &tok;
  bool special;
  bool atStart = true;
  std::string pending;
};

} // namespace tokenizer
} // namespace tfc

#endif // TFC_TOKENIZER_DECODE_H
