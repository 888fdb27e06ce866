//===- Unicode.cpp - UTF-8, character classes, NFD, lowercase -------------===//

#include "tfc/Tokenizer/Unicode.h"

#include <algorithm>
#include <cstddef>
#include <iterator>

namespace tfc {
namespace tokenizer {
namespace unicode {
namespace {
#include "UnicodeTables.inc"

// Hangul syllables decompose algorithmically (Unicode 3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161,
                   kTBase = 0x11A7;
constexpr char32_t kLCount = 19, kVCount = 21, kTCount = 28;
constexpr char32_t kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

constexpr char32_t kReplacement = 0xFFFD;
} // namespace

const char *tablesVersion() { return TFC_UNICODE_VERSION; }

CharClass charClass(char32_t c) {
  if (c > 0x10FFFF)
    return CharClass::Other;
  // Last run starting at or before c.
  const uint32_t key = (static_cast<uint32_t>(c) << 3) | 7u;
  const uint32_t *it =
      std::upper_bound(std::begin(kCharClassRuns), std::end(kCharClassRuns),
                       key);
  return static_cast<CharClass>(*(it - 1) & 7u);
}

bool isCjkIdeograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

uint8_t combiningClass(char32_t c) {
  if (c < 0x300)
    return 0;
  const uint32_t key = (static_cast<uint32_t>(c) << 8) | 0xFFu;
  auto it = std::upper_bound(
      std::begin(kCombiningClassRuns), std::end(kCombiningClassRuns), key,
      [](uint32_t k, const uint32_t(&run)[2]) { return k < run[0]; });
  if (it == std::begin(kCombiningClassRuns))
    return 0;
  const uint32_t(&run)[2] = *(it - 1);
  char32_t first = run[0] >> 8;
  if (c - first < run[1])
    return static_cast<uint8_t>(run[0] & 0xFFu);
  return 0;
}

void appendDecomposition(char32_t c, std::u32string &out) {
  if (c < 0xC0) {
    out.push_back(c);
    return;
  }
  if (c >= kSBase && c < kSBase + kSCount) {
    char32_t s = c - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount)
      out.push_back(kTBase + s % kTCount);
    return;
  }
  const uint32_t *it =
      std::lower_bound(std::begin(kNfdKeys), std::end(kNfdKeys),
                       static_cast<uint32_t>(c));
  if (it == std::end(kNfdKeys) || *it != c) {
    out.push_back(c);
    return;
  }
  uint32_t v = kNfdValues[it - std::begin(kNfdKeys)];
  for (uint32_t k = 0; k < (v & 7u); ++k)
    out.push_back(static_cast<char32_t>(kNfdPool[(v >> 3) + k]));
}

void canonicalOrder(std::u32string &text) {
  // Insertion sort of each run of non-starters: stable, and runs are short.
  size_t n = text.size();
  for (size_t i = 1; i < n; ++i) {
    uint8_t cc = combiningClass(text[i]);
    if (cc == 0)
      continue;
    size_t j = i;
    char32_t c = text[i];
    while (j > 0) {
      uint8_t prev = combiningClass(text[j - 1]);
      if (prev <= cc || prev == 0)
        break;
      text[j] = text[j - 1];
      --j;
    }
    text[j] = c;
  }
}

std::u32string nfd(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text)
    appendDecomposition(c, out);
  canonicalOrder(out);
  return out;
}

void appendLowercase(char32_t c, std::u32string &out) {
  if (c < 0x80) {
    out.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return;
  }
  for (const LowerSpecial &s : kLowerSpecial) {
    if (s.cp == c) {
      for (uint8_t k = 0; k < s.len; ++k)
        out.push_back(static_cast<char32_t>(s.lower[k]));
      return;
    }
  }
  auto it = std::upper_bound(
      std::begin(kLowerRuns), std::end(kLowerRuns), static_cast<uint32_t>(c),
      [](uint32_t k, const LowerRun &run) { return k < run.first; });
  if (it != std::begin(kLowerRuns)) {
    const LowerRun &run = *(it - 1);
    uint32_t d = static_cast<uint32_t>(c) - run.first;
    if (d % run.stride == 0 && d / run.stride < run.count) {
      out.push_back(static_cast<char32_t>(static_cast<int64_t>(c) + run.delta));
      return;
    }
  }
  out.push_back(c);
}

bool decodeUtf8(std::string_view text, std::u32string &out) {
  bool valid = true;
  const auto *s = reinterpret_cast<const unsigned char *>(text.data());
  size_t n = text.size(), i = 0;
  out.reserve(out.size() + n);
  while (i < n) {
    unsigned char b = s[i];
    if (b < 0x80) {
      out.push_back(b);
      ++i;
      continue;
    }
    // Lead byte: number of continuation bytes and the range of the first
    // one (which rules out overlong forms, surrogates and > U+10FFFF).
    int need = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    char32_t cp = 0;
    if (b >= 0xC2 && b <= 0xDF) {
      need = 1;
      cp = b & 0x1F;
    } else if (b >= 0xE0 && b <= 0xEF) {
      need = 2;
      cp = b & 0x0F;
      if (b == 0xE0)
        lo = 0xA0;
      else if (b == 0xED)
        hi = 0x9F;
    } else if (b >= 0xF0 && b <= 0xF4) {
      need = 3;
      cp = b & 0x07;
      if (b == 0xF0)
        lo = 0x90;
      else if (b == 0xF4)
        hi = 0x8F;
    } else {
      out.push_back(kReplacement);
      valid = false;
      ++i;
      continue;
    }
    size_t j = i + 1;
    bool ok = true;
    for (int k = 0; k < need; ++k, ++j) {
      if (j >= n || s[j] < lo || s[j] > hi) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (s[j] & 0x3F);
      lo = 0x80;
      hi = 0xBF;
    }
    if (!ok) {
      // The maximal subpart [i, j) becomes one U+FFFD; s[j] is read again.
      out.push_back(kReplacement);
      valid = false;
      i = j;
      continue;
    }
    out.push_back(cp);
    i = j;
  }
  return valid;
}

void appendUtf8(char32_t c, std::string &out) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c <= 0x10FFFF) {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    appendUtf8(kReplacement, out);
  }
}

std::string encodeUtf8(std::u32string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t c : text)
    appendUtf8(c, out);
  return out;
}

size_t utf8Length(std::string_view text) {
  size_t n = 0;
  for (char c : text)
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

} // namespace unicode
} // namespace tokenizer
} // namespace tfc
