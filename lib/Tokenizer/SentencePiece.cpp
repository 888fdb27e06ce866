//===- SentencePiece.cpp - SentencePiece-style BPE ------------------------===//
//
// The merge loop follows SentencePiece's bpe_model.cc (and llama.cpp's
// llm_tokenizer_spm): a priority queue of adjacent pairs ordered by the score
// of their concatenation, then by position; stale entries (a side already
// merged away) are skipped when popped.
//
//===----------------------------------------------------------------------===//

#include "tfc/Tokenizer/SentencePiece.h"

#include "LoaderUtils.h"

#include <algorithm>
#include <cstdio>
#include <queue>
#include <unordered_map>

namespace tfc {
namespace tokenizer {

namespace {
const char kSpaceMark[] = "\xE2\x96\x81"; // U+2581

// Bytes in the UTF-8 sequence led by `b` (1 for an invalid lead byte, which
// then stands alone and goes to byte fallback).
size_t utf8SeqLen(unsigned char b) {
  if (b < 0xC0)
    return 1;
  if (b < 0xE0)
    return 2;
  if (b < 0xF0)
    return 3;
  if (b < 0xF8)
    return 4;
  return 1;
}

// "<0xAB>" -> 0xAB; -1 when `piece` is not of that form.
int parseBytePiece(const std::string &piece) {
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>')
    return -1;
  int v = 0;
  for (int k = 3; k < 5; ++k) {
    char c = piece[k];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                   : -1;
    if (d < 0)
      return -1;
    v = v * 16 + d;
  }
  return v;
}
} // namespace

Status SentencePieceTokenizer::init(std::vector<SentencePieceEntry> pieces,
                                    const SentencePieceOptions &options) {
  if (pieces.empty())
    return Status::error("empty SentencePiece vocabulary");
  opts = options;
  std::vector<std::string> texts;
  texts.reserve(pieces.size());
  scores.clear();
  types.clear();
  userDefined.clear();
  byteIds.fill(-1);
  SpecialTokens special = specialTokens();
  for (size_t i = 0; i < pieces.size(); ++i) {
    SentencePieceEntry &p = pieces[i];
    int32_t id = static_cast<int32_t>(i);
    if (p.type == PieceType::Byte) {
      int b = parseBytePiece(p.piece);
      if (b < 0)
        return Status::error("byte piece " + std::to_string(i) + " '" +
                             p.piece + "' is not of the form <0xXX>");
      byteIds[b] = id;
    } else if (p.type == PieceType::UserDefined && !p.piece.empty()) {
      userDefined.push_back(p.piece);
    } else if (p.type == PieceType::Unknown && special.unk < 0) {
      special.unk = id;
    }
    texts.push_back(std::move(p.piece));
    scores.push_back(p.score);
    types.push_back(p.type);
  }
  TFC_TRY(setVocab(texts));
  if (opts.byteFallback)
    for (int b = 0; b < 256; ++b)
      if (byteIds[b] < 0) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", b);
        return Status::error(std::string("byte fallback needs the piece ") +
                             name + ", which the vocabulary lacks");
      }
  std::sort(userDefined.begin(), userDefined.end(),
            [](const std::string &a, const std::string &b) {
              return a.size() > b.size();
            });
  if (special.unk < 0 && !opts.byteFallback)
    return Status::error("vocabulary without an unknown piece and without "
                         "byte fallback");
  setSpecialTokens(special);
  if (opts.matchSpecialPieces) {
    for (size_t i = 0; i < types.size(); ++i)
      if ((types[i] == PieceType::Control || types[i] == PieceType::Unknown) &&
          !tokenText(static_cast<int32_t>(i)).empty())
        TFC_TRY(addAddedToken(
            {tokenText(static_cast<int32_t>(i)), static_cast<int32_t>(i)}));
  }
  return Status::success();
}

float SentencePieceTokenizer::score(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < scores.size() ? scores[id] : 0;
}

PieceType SentencePieceTokenizer::pieceType(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < types.size() ? types[id]
                                                           : PieceType::Unused;
}

bool SentencePieceTokenizer::isSpecialToken(int32_t id) const {
  PieceType t = pieceType(id);
  return t == PieceType::Control || t == PieceType::Unknown ||
         t == PieceType::Unused;
}

std::string SentencePieceTokenizer::normalize(std::string_view text) const {
  std::string s;
  if (opts.removeExtraWhitespaces) {
    // Trim and collapse runs of ' ' (SentencePiece's normalizer, "identity"
    // rule: only U+0020 counts as whitespace here).
    bool pendingSpace = false;
    for (char c : text) {
      if (c == ' ') {
        pendingSpace = !s.empty();
        continue;
      }
      if (pendingSpace)
        s += ' ';
      pendingSpace = false;
      s += c;
    }
  } else {
    s.assign(text);
  }
  if (s.empty())
    return s;
  if (opts.addDummyPrefix)
    s.insert(s.begin(), ' ');
  if (!opts.escapeWhitespaces)
    return s;
  std::string out;
  out.reserve(s.size() + s.size() / 2);
  for (char c : s) {
    if (c == ' ')
      out += kSpaceMark;
    else
      out += c;
  }
  return out;
}

// A symbol of the merge loop: a span of the normalized text in a doubly
// linked list; `len` == 0 once merged into its left neighbour.
struct SentencePieceTokenizer::Symbol {
  size_t begin, len;
  int prev, next;
  bool frozen; // a user-defined piece: never merged
};

namespace {
struct Pair {
  float score;
  int left, right;
  size_t size;
};
struct PairOrder {
  bool operator()(const Pair &a, const Pair &b) const {
    if (a.score != b.score)
      return a.score < b.score;
    return a.left > b.left;
  }
};
} // namespace

void SentencePieceTokenizer::encodeNormalized(std::string_view text,
                                              std::vector<int32_t> &ids) const {
  if (text.empty())
    return;
  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    size_t len = 0;
    bool frozen = false;
    for (const std::string &u : userDefined)
      if (text.compare(pos, u.size(), u) == 0) {
        len = u.size();
        frozen = true;
        break;
      }
    if (!len)
      len = std::min(utf8SeqLen(static_cast<unsigned char>(text[pos])),
                     text.size() - pos);
    int index = static_cast<int>(symbols.size());
    symbols.push_back({pos, len, index - 1, index + 1, frozen});
    pos += len;
  }
  symbols.back().next = -1;

  std::priority_queue<Pair, std::vector<Pair>, PairOrder> agenda;
  // Unused pieces may be formed by merges but are split back afterwards.
  std::unordered_map<std::string, std::pair<std::string, std::string>> revMerge;
  auto addPair = [&](int left, int right) {
    if (left < 0 || right < 0 || symbols[left].frozen || symbols[right].frozen)
      return;
    const Symbol &l = symbols[left], &r = symbols[right];
    std::string_view piece = text.substr(l.begin, l.len + r.len);
    int32_t id = tokenId(piece);
    if (id < 0)
      return;
    PieceType t = types[id];
    if (t != PieceType::Normal && t != PieceType::UserDefined &&
        t != PieceType::Unused)
      return;
    agenda.push({scores[id], left, right, piece.size()});
    if (t == PieceType::Unused)
      revMerge[std::string(piece)] = {std::string(text.substr(l.begin, l.len)),
                                      std::string(text.substr(r.begin, r.len))};
  };
  for (size_t i = 1; i < symbols.size(); ++i)
    addPair(static_cast<int>(i - 1), static_cast<int>(i));

  while (!agenda.empty()) {
    Pair top = agenda.top();
    agenda.pop();
    Symbol &l = symbols[top.left], &r = symbols[top.right];
    if (l.len == 0 || r.len == 0 || l.len + r.len != top.size)
      continue; // stale
    l.len += r.len;
    r.len = 0;
    l.next = r.next;
    if (r.next >= 0)
      symbols[r.next].prev = top.left;
    addPair(l.prev, top.left);
    addPair(top.left, l.next);
  }

  // Resegments unused pieces, in order, with an explicit stack.
  std::vector<std::string> stack;
  for (int i = 0; i >= 0; i = symbols[i].next) {
    std::string_view sym = text.substr(symbols[i].begin, symbols[i].len);
    int32_t id = tokenId(sym);
    if (id < 0 || types[id] != PieceType::Unused) {
      emitSymbol(sym, ids);
      continue;
    }
    stack.assign(1, std::string(sym));
    while (!stack.empty()) {
      std::string s = std::move(stack.back());
      stack.pop_back();
      auto it = revMerge.find(s);
      if (it == revMerge.end()) {
        emitSymbol(s, ids);
        continue;
      }
      stack.push_back(it->second.second);
      stack.push_back(it->second.first);
    }
  }
}

void SentencePieceTokenizer::emitSymbol(std::string_view sym,
                                        std::vector<int32_t> &ids) const {
  int32_t id = tokenId(sym);
  if (id >= 0) {
    PieceType t = types[id];
    if (t == PieceType::Normal || t == PieceType::UserDefined) {
      ids.push_back(id);
      return;
    }
  }
  if (opts.byteFallback) {
    for (char c : sym)
      ids.push_back(byteIds[static_cast<unsigned char>(c)]);
    return;
  }
  // SentencePiece emits one unknown piece for a run of unknown symbols.
  int32_t unk = specialTokens().unk;
  if (ids.empty() || ids.back() != unk)
    ids.push_back(unk);
}

Status SentencePieceTokenizer::encode(std::string_view text,
                                      std::vector<int32_t> &ids) const {
  ids.clear();
  std::vector<std::pair<std::string_view, int32_t>> pieces;
  splitOnAddedTokens(text, false, pieces);
  for (const auto &p : pieces) {
    if (p.second >= 0)
      ids.push_back(p.second);
    else
      encodeNormalized(normalize(p.first), ids);
  }
  return Status::success();
}

void SentencePieceTokenizer::appendTokenBytes(int32_t id, bool special,
                                              std::string &out) const {
  if (id < 0 || static_cast<size_t>(id) >= types.size())
    return;
  const std::string &text = tokenText(id);
  switch (types[id]) {
  case PieceType::Byte:
    out += static_cast<char>(parseBytePiece(text));
    return;
  case PieceType::Normal:
  case PieceType::UserDefined:
    for (size_t i = 0; i < text.size();) {
      if (opts.escapeWhitespaces && text.compare(i, 3, kSpaceMark) == 0) {
        out += ' ';
        i += 3;
      } else {
        out += text[i++];
      }
    }
    return;
  default:
    if (special)
      out += text;
    return;
  }
}

} // namespace tokenizer
} // namespace tfc
