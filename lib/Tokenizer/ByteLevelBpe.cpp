//===- ByteLevelBpe.cpp - GPT-2 style byte-level BPE ----------------------===//

#include "tfc/Tokenizer/ByteLevelBpe.h"
#include "tfc/Tokenizer/Unicode.h"

#include <algorithm>
#include <iterator>
#include <queue>

namespace tfc {
namespace tokenizer {

namespace {
#include "BpeTables.inc"

enum CharKind : uint8_t { kOther = 0, kLetter = 1, kNumber = 2, kSpace = 3 };
constexpr uint8_t kNumericBit = 4;

uint8_t classBits(char32_t c) {
  if (c > 0x10FFFF)
    return kOther;
  const uint32_t key = (static_cast<uint32_t>(c) << 3) | 7u;
  const uint32_t *it =
      std::upper_bound(std::begin(kBpeClassRuns), std::end(kBpeClassRuns), key);
  return static_cast<uint8_t>(*(it - 1) & 7u);
}

// One code point of the text with its byte span. Invalid UTF-8 bytes stand
// alone (class other) and keep their bytes.
struct Cp {
  char32_t c;
  uint32_t begin, end;
  uint8_t bits;
  CharKind kind() const { return static_cast<CharKind>(bits & 3); }
};

void decodeWithOffsets(std::string_view text, std::vector<Cp> &out) {
  out.clear();
  std::u32string one;
  for (size_t pos = 0; pos < text.size();) {
    unsigned char b = static_cast<unsigned char>(text[pos]);
    size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    len = std::min(len, text.size() - pos);
    one.clear();
    // A valid sequence decodes to one code point; anything else becomes one
    // U+FFFD per byte.
    if (b < 0x80 || b < 0xC2 || b > 0xF4 ||
        !unicode::decodeUtf8(text.substr(pos, len), one) || one.size() != 1)
      len = 1, one.assign(1, b < 0x80 ? static_cast<char32_t>(b) : 0xFFFD);
    char32_t c = one[0];
    out.push_back({c, static_cast<uint32_t>(pos),
                   static_cast<uint32_t>(pos + len), classBits(c)});
    pos += len;
  }
}

// GPT-2's pattern over cps[a, b), as a regex engine would match it: at each
// position the first alternative that matches, greedily.
void splitGpt2(std::string_view text, const std::vector<Cp> &cps, size_t a,
               size_t b, std::vector<std::string_view> &words) {
  auto emit = [&](size_t from, size_t to) {
    words.push_back(
        text.substr(cps[from].begin, cps[to - 1].end - cps[from].begin));
  };
  size_t pos = a;
  while (pos < b) {
    char32_t c = cps[pos].c;
    // 's|'t|'re|'ve|'m|'ll|'d
    if (c == '\'' && pos + 1 < b) {
      char32_t n = cps[pos + 1].c;
      if (n == 's' || n == 't' || n == 'm' || n == 'd') {
        emit(pos, pos + 2);
        pos += 2;
        continue;
      }
      if (pos + 2 < b) {
        char32_t nn = cps[pos + 2].c;
        if ((n == 'r' && nn == 'e') || (n == 'v' && nn == 'e') ||
            (n == 'l' && nn == 'l')) {
          emit(pos, pos + 3);
          pos += 3;
          continue;
        }
      }
    }
    //  ?\p{L}+ |  ?\p{N}+ |  ?[^\s\p{L}\p{N}]+
    size_t first = (c == ' ' && pos + 1 < b) ? pos + 1 : pos;
    CharKind k = cps[first].kind();
    if (k != kSpace) {
      size_t end = first + 1;
      while (end < b && cps[end].kind() == k)
        ++end;
      emit(pos, end);
      pos = end;
      continue;
    }
    // \s+(?!\S) | \s+
    size_t end = pos;
    while (end < b && cps[end].kind() == kSpace)
      ++end;
    if (end - pos > 1 && end < b)
      --end; // leave the last space to the word that follows
    emit(pos, end);
    pos = end;
  }
}

// GPT-2's bytes_to_unicode table.
struct ByteMap {
  char32_t toChar[256];
  ByteMap() {
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) ||
                       (b >= 0xAE && b <= 0xFF);
      toChar[b] = printable ? static_cast<char32_t>(b)
                            : static_cast<char32_t>(256 + n++);
    }
  }
};
const ByteMap &byteMap() {
  static const ByteMap m;
  return m;
}

struct Pair {
  uint32_t rank;
  int left, right;
  int32_t merged;
};
struct PairOrder {
  bool operator()(const Pair &a, const Pair &b) const {
    if (a.rank != b.rank)
      return a.rank > b.rank;
    return a.left > b.left;
  }
};
} // namespace

char32_t ByteLevelBpeTokenizer::byteToChar(uint8_t b) {
  return byteMap().toChar[b];
}

Status ByteLevelBpeTokenizer::init(
    const std::vector<std::pair<std::string, std::string>> &merges,
    const ByteLevelBpeOptions &options) {
  opts = options;
  charToByte.clear();
  for (int b = 0; b < 256; ++b) {
    char32_t c = byteToChar(static_cast<uint8_t>(b));
    charToByte[c] = static_cast<uint8_t>(b);
    std::string s;
    unicode::appendUtf8(c, s);
    byteIds[b] = tokenId(s);
  }
  mergeRanks.clear();
  mergeRanks.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    const auto &m = merges[r];
    int32_t a = tokenId(m.first), b = tokenId(m.second),
            ab = tokenId(m.first + m.second);
    if (a < 0 || b < 0 || ab < 0)
      return Status::error("merge " + std::to_string(r) + " '" + m.first + " " +
                           m.second +
                           "' uses a token that is not in "
                           "the vocabulary");
    uint64_t key = static_cast<uint64_t>(a) << 32 | static_cast<uint32_t>(b);
    // The first (lowest-rank) rule for a pair wins, as in tokenizers.
    mergeRanks.emplace(key, static_cast<uint64_t>(r) << 32 |
                                static_cast<uint32_t>(ab));
  }
  return Status::success();
}

void ByteLevelBpeTokenizer::preTokenize(std::string_view text,
                                        BpePreTokenizer kind,
                                        std::vector<std::string_view> &words) {
  std::vector<Cp> cps;
  decodeWithOffsets(text, cps);
  if (kind == BpePreTokenizer::Gpt2) {
    splitGpt2(text, cps, 0, cps.size(), words);
    return;
  }
  if (kind == BpePreTokenizer::Falcon) {
    // Punctuation(contiguous): runs of punctuation and of the rest, each
    // split by GPT-2's pattern (ByteLevel's regex).
    std::vector<std::string_view> runWords;
    for (size_t i = 0; i < cps.size();) {
      const bool punct = unicode::isPunctuation(cps[i].c);
      size_t j = i + 1;
      while (j < cps.size() && unicode::isPunctuation(cps[j].c) == punct)
        ++j;
      splitGpt2(text, cps, i, j, runWords);
      i = j;
    }
    // Digits(individual_digits=false) runs on the byte-level characters:
    // numeric are the digits and the bytes that map to U+00B2, U+00B3,
    // U+00B9 and U+00BC-U+00BE (No), even inside a multi-byte character;
    // then Split("[0-9][0-9][0-9]", isolated).
    auto numeric = [](unsigned char b) {
      return (b >= '0' && b <= '9') || b == 0xB2 || b == 0xB3 || b == 0xB9 ||
             (b >= 0xBC && b <= 0xBE);
    };
    auto digit = [](char b) { return b >= '0' && b <= '9'; };
    for (std::string_view w : runWords)
      for (size_t a = 0; a < w.size();) {
        const bool num = numeric(static_cast<unsigned char>(w[a]));
        size_t b = a + 1;
        while (b < w.size() && numeric(static_cast<unsigned char>(w[b])) == num)
          ++b;
        size_t from = a;
        for (size_t p = a; p + 3 <= b;) {
          if (digit(w[p]) && digit(w[p + 1]) && digit(w[p + 2])) {
            if (p > from)
              words.push_back(w.substr(from, p - from));
            words.push_back(w.substr(p, 3));
            p += 3;
            from = p;
          } else {
            ++p;
          }
        }
        if (b > from)
          words.push_back(w.substr(from, b - from));
        a = b;
      }
    return;
  }
  // Digits(individual_digits): every numeric character is a segment of its
  // own; GPT-2's pattern runs on each segment separately.
  size_t start = 0;
  for (size_t i = 0; i < cps.size(); ++i) {
    if (!(cps[i].bits & kNumericBit))
      continue;
    splitGpt2(text, cps, start, i, words);
    splitGpt2(text, cps, i, i + 1, words);
    start = i + 1;
  }
  splitGpt2(text, cps, start, cps.size(), words);
}

void ByteLevelBpeTokenizer::bpe(std::string_view word,
                                std::vector<int32_t> &ids) const {
  struct Symbol {
    int32_t id;
    int prev, next;
  };
  std::vector<Symbol> symbols;
  symbols.reserve(word.size());
  for (size_t i = 0; i < word.size(); ++i) {
    int32_t id = byteIds[static_cast<unsigned char>(word[i])];
    if (id < 0)
      id = specialTokens().unk;
    if (id < 0)
      continue; // a byte the vocabulary cannot express, and no unknown token
    int index = static_cast<int>(symbols.size());
    symbols.push_back({id, index - 1, index + 1});
  }
  if (symbols.empty())
    return;
  symbols.back().next = -1;

  std::priority_queue<Pair, std::vector<Pair>, PairOrder> agenda;
  auto addPair = [&](int left, int right) {
    if (left < 0 || right < 0)
      return;
    uint64_t key = static_cast<uint64_t>(symbols[left].id) << 32 |
                   static_cast<uint32_t>(symbols[right].id);
    auto it = mergeRanks.find(key);
    if (it == mergeRanks.end())
      return;
    agenda.push({static_cast<uint32_t>(it->second >> 32), left, right,
                 static_cast<int32_t>(it->second & 0xFFFFFFFFu)});
  };
  for (size_t i = 1; i < symbols.size(); ++i)
    addPair(static_cast<int>(i - 1), static_cast<int>(i));
  while (!agenda.empty()) {
    Pair top = agenda.top();
    agenda.pop();
    Symbol &l = symbols[top.left];
    // Stale when either side was merged away or changed since the push.
    if (l.id < 0 || l.next != top.right || symbols[top.right].id < 0)
      continue;
    Symbol &r = symbols[top.right];
    uint64_t key =
        static_cast<uint64_t>(l.id) << 32 | static_cast<uint32_t>(r.id);
    auto it = mergeRanks.find(key);
    if (it == mergeRanks.end() ||
        static_cast<int32_t>(it->second & 0xFFFFFFFFu) != top.merged)
      continue;
    l.id = top.merged;
    r.id = -1;
    l.next = r.next;
    if (r.next >= 0)
      symbols[r.next].prev = top.left;
    addPair(l.prev, top.left);
    addPair(top.left, l.next);
  }
  for (int i = 0; i >= 0; i = symbols[i].next)
    ids.push_back(symbols[i].id);
}

Status ByteLevelBpeTokenizer::encode(std::string_view text,
                                     std::vector<int32_t> &ids) const {
  ids.clear();
  std::vector<std::pair<std::string_view, int32_t>> pieces;
  splitOnAddedTokens(text, false, pieces);
  std::vector<std::string_view> words;
  std::string prefixed;
  for (size_t k = 0; k < pieces.size(); ++k) {
    if (pieces[k].second >= 0) {
      ids.push_back(pieces[k].second);
      continue;
    }
    std::string_view piece = pieces[k].first;
    if (opts.addPrefixSpace && k == 0 && piece.front() != ' ') {
      prefixed = " " + std::string(piece);
      piece = prefixed;
    }
    words.clear();
    preTokenize(piece, opts.preTokenizer, words);
    for (std::string_view w : words)
      bpe(w, ids);
  }
  return Status::success();
}

void ByteLevelBpeTokenizer::appendTokenBytes(int32_t id, bool special,
                                             std::string &out) const {
  if (id < 0 || static_cast<size_t>(id) >= vocabSize())
    return;
  const std::string &text = tokenText(id);
  bool added = false;
  for (const AddedToken &t : addedTokens())
    if (t.id == id) {
      added = true;
      if (!t.special || special)
        out += text;
      break;
    }
  if (added)
    return;
  if (!special && isSpecialToken(id))
    return;
  std::u32string cps;
  unicode::decodeUtf8(text, cps);
  for (char32_t c : cps) {
    auto it = charToByte.find(c);
    if (it != charToByte.end())
      out += static_cast<char>(it->second);
    else
      unicode::appendUtf8(c, out);
  }
}

} // namespace tokenizer
} // namespace tfc
