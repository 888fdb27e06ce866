//===- Decode.cpp - ids -> text, whole and streamed -----------------------===//

#include "tfc/Tokenizer/Decode.h"
#include "tfc/Tokenizer/Unicode.h"

namespace tfc {
namespace tokenizer {

namespace {

// The valid range of the byte after lead byte `b` (Unicode Table 3-7), and
// how many bytes the sequence has; 0 for a byte that cannot lead one.
int sequenceLength(unsigned char b, unsigned char &lo, unsigned char &hi) {
  lo = 0x80;
  hi = 0xBF;
  if (b < 0x80)
    return 1;
  if (b >= 0xC2 && b <= 0xDF)
    return 2;
  if (b >= 0xE0 && b <= 0xEF) {
    if (b == 0xE0)
      lo = 0xA0;
    else if (b == 0xED)
      hi = 0x9F;
    return 3;
  }
  if (b >= 0xF0 && b <= 0xF4) {
    if (b == 0xF0)
      lo = 0x90;
    else if (b == 0xF4)
      hi = 0x8F;
    return 4;
  }
  return 0;
}

} // namespace

size_t completeUtf8Prefix(std::string_view bytes) {
  size_t n = bytes.size();
  // An incomplete sequence is at most 3 bytes long: find its lead byte.
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    size_t i = n - back;
    unsigned char b = static_cast<unsigned char>(bytes[i]);
    if (b >= 0x80 && b <= 0xBF)
      continue; // a continuation byte: the lead is further back
    unsigned char lo, hi;
    int len = sequenceLength(b, lo, hi);
    if (len <= 1 || static_cast<size_t>(len) <= back)
      return n; // ASCII, an invalid byte, or a sequence that is complete
    // Check that what follows the lead is a valid start of the sequence.
    for (size_t k = i + 1; k < n; ++k) {
      unsigned char c = static_cast<unsigned char>(bytes[k]);
      bool ok = k == i + 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xBF);
      if (!ok)
        return n; // invalid anyway: nothing to wait for
    }
    return i;
  }
  return n;
}

std::string sanitizeUtf8(std::string_view bytes) {
  std::u32string cps;
  if (unicode::decodeUtf8(bytes, cps))
    return std::string(bytes);
  return unicode::encodeUtf8(cps);
}

void Tokenizer::appendTokenBytes(int32_t id, bool special,
                                 std::string &out) const {
  if (!special && isSpecialToken(id))
    return;
  out += tokenText(id);
}

bool Tokenizer::isSpecialToken(int32_t id) const {
  if (id < 0)
    return false;
  const SpecialTokens &s = special;
  for (int32_t x : {s.unk, s.cls, s.sep, s.pad, s.mask, s.bos, s.eos})
    if (x == id)
      return true;
  for (const AddedToken &t : added)
    if (t.id == id && t.special)
      return true;
  return false;
}

std::string Tokenizer::decode(const std::vector<int32_t> &ids,
                              bool specialTokens) const {
  StreamDecoder d(*this, specialTokens);
  std::string text;
  for (int32_t id : ids)
    text += d.push(id);
  text += d.finish();
  return text;
}

std::string StreamDecoder::push(int32_t id) {
  size_t before = pending.size();
  tok.appendTokenBytes(id, special, pending);
  bool strip = atStart;
  atStart = id >= 0 && id == tok.specialTokens().bos;
  if (strip && tok.decodeStripsLeadingSpace() && pending.size() > before &&
      pending[before] == ' ')
    pending.erase(before, 1);
  size_t n = completeUtf8Prefix(pending);
  std::string text = sanitizeUtf8(std::string_view(pending).substr(0, n));
  pending.erase(0, n);
  return text;
}

std::string StreamDecoder::finish() {
  std::string text = sanitizeUtf8(pending);
  pending.clear();
  return text;
}

} // namespace tokenizer
} // namespace tfc
