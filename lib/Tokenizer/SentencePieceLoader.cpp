//===- SentencePieceLoader.cpp - llama2.c tokenizer.bin, tokenizer.model --===//
//
// Two files that hold a SentencePiece BPE vocabulary:
//   - llama2.c's tokenizer.bin (export of tokenizer.py): int32
//     max_token_length, then per token: float32 score, int32 length, bytes;
//     the token count is whatever the file holds;
//   - SentencePiece's ModelProto (tokenizer.model), read with a minimal
//     protobuf wire-format reader (no libprotobuf): the pieces (piece, score,
//     type), TrainerSpec.model_type / byte_fallback / unk,bos,eos ids and
//     NormalizerSpec's flags.
//
//===----------------------------------------------------------------------===//

#include "tfc/Tokenizer/Loader.h"
#include "tfc/Tokenizer/SentencePiece.h"

#include "LoaderUtils.h"

#include <cctype>
#include <cstring>

namespace tfc {
namespace tokenizer {

namespace {

const char kSpaceMark[] = "\xE2\x96\x81"; // U+2581

bool isBytePieceName(const std::string &s) {
  return s.size() == 6 && s.compare(0, 3, "<0x") == 0 && s[5] == '>' &&
         std::isxdigit(static_cast<unsigned char>(s[3])) &&
         std::isxdigit(static_cast<unsigned char>(s[4]));
}

//===----------------------------------------------------------------------===//
// Protobuf wire format
//===----------------------------------------------------------------------===//

class ProtoReader {
public:
  explicit ProtoReader(std::string_view data)
      : p(reinterpret_cast<const uint8_t *>(data.data())),
        end(p + data.size()) {}

  bool done() const { return p == end; }

  bool varint(uint64_t &v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p == end)
        return false;
      uint8_t b = *p++;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80))
        return true;
    }
    return false;
  }

  /// Reads a field key; false at a malformed key.
  bool key(uint32_t &field, uint32_t &wire) {
    uint64_t k;
    if (!varint(k) || (k >> 3) == 0 || (k >> 3) > 0x1FFFFFFF)
      return false;
    field = static_cast<uint32_t>(k >> 3);
    wire = static_cast<uint32_t>(k & 7);
    return true;
  }

  bool bytes(std::string_view &out) {
    uint64_t n;
    if (!varint(n) || n > static_cast<uint64_t>(end - p))
      return false;
    out = std::string_view(reinterpret_cast<const char *>(p), n);
    p += n;
    return true;
  }

  bool fixed32(uint32_t &v) {
    if (end - p < 4)
      return false;
    v = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
        static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
    p += 4;
    return true;
  }

  bool skip(uint32_t wire) {
    uint64_t v;
    std::string_view s;
    switch (wire) {
    case 0:
      return varint(v);
    case 1:
      if (end - p < 8)
        return false;
      p += 8;
      return true;
    case 2:
      return bytes(s);
    case 5:
      if (end - p < 4)
        return false;
      p += 4;
      return true;
    default: // groups (3, 4) are not used by sentencepiece_model.proto
      return false;
    }
  }

private:
  const uint8_t *p, *end;
};

struct ModelSettings {
  int64_t modelType = 1; // UNIGRAM is the proto default
  bool byteFallback = false;
  int64_t unkId = 0, bosId = 1, eosId = 2, padId = -1;
  bool treatWhitespaceAsSuffix = false;
  std::string normalizerName;
  bool precompiledMap = false;
  bool addDummyPrefix = true, removeExtraWhitespaces = true,
       escapeWhitespaces = true;
};

Status parsePiece(std::string_view msg, SentencePieceEntry &e) {
  ProtoReader r(msg);
  while (!r.done()) {
    uint32_t f, w;
    if (!r.key(f, w))
      return Status::error("malformed SentencePiece entry");
    bool ok = true;
    if (f == 1 && w == 2) {
      std::string_view s;
      ok = r.bytes(s);
      e.piece.assign(s);
    } else if (f == 2 && w == 5) {
      uint32_t bits;
      ok = r.fixed32(bits);
      std::memcpy(&e.score, &bits, 4);
    } else if (f == 3 && w == 0) {
      uint64_t v;
      ok = r.varint(v);
      if (ok && (v < 1 || v > 6))
        return Status::error("piece '" + e.piece + "' has unknown type " +
                             std::to_string(v));
      e.type = static_cast<PieceType>(v);
    } else {
      ok = r.skip(w);
    }
    if (!ok)
      return Status::error("truncated SentencePiece entry");
  }
  return Status::success();
}

// Reads the scalar fields we need from TrainerSpec (2) / NormalizerSpec (3).
Status parseSpec(std::string_view msg, bool trainer, ModelSettings &s) {
  ProtoReader r(msg);
  while (!r.done()) {
    uint32_t f, w;
    if (!r.key(f, w))
      return Status::error("malformed spec");
    bool ok = true;
    if (w == 0) {
      uint64_t v;
      ok = r.varint(v);
      auto i = static_cast<int64_t>(static_cast<int32_t>(v));
      if (trainer) {
        if (f == 3)
          s.modelType = i;
        else if (f == 35)
          s.byteFallback = v != 0;
        else if (f == 24)
          s.treatWhitespaceAsSuffix = v != 0;
        else if (f == 40)
          s.unkId = i;
        else if (f == 41)
          s.bosId = i;
        else if (f == 42)
          s.eosId = i;
        else if (f == 43)
          s.padId = i;
      } else {
        if (f == 3)
          s.addDummyPrefix = v != 0;
        else if (f == 4)
          s.removeExtraWhitespaces = v != 0;
        else if (f == 5)
          s.escapeWhitespaces = v != 0;
      }
    } else if (!trainer && w == 2 && (f == 1 || f == 2)) {
      std::string_view b;
      ok = r.bytes(b);
      if (f == 1)
        s.normalizerName.assign(b);
      else
        s.precompiledMap = !b.empty();
    } else {
      ok = r.skip(w);
    }
    if (!ok)
      return Status::error(std::string("truncated ") +
                           (trainer ? "trainer_spec" : "normalizer_spec"));
  }
  return Status::success();
}

int32_t idOrNone(int64_t id, size_t n) {
  return id >= 0 && static_cast<uint64_t>(id) < n ? static_cast<int32_t>(id)
                                                  : -1;
}

} // namespace

Status llama2cTokenizerFromBytes(std::string_view bytes,
                                 std::unique_ptr<Tokenizer> &out) {
  auto readI32 = [&](size_t &pos, int32_t &v) {
    if (bytes.size() - pos < 4)
      return false;
    std::memcpy(&v, bytes.data() + pos, 4);
    pos += 4;
    return true;
  };
  size_t pos = 0;
  int32_t maxLen;
  if (!readI32(pos, maxLen) || maxLen <= 0 || maxLen > (1 << 20))
    return Status::error("not a llama2.c tokenizer file (bad "
                         "max_token_length)");
  std::vector<SentencePieceEntry> pieces;
  while (pos < bytes.size()) {
    SentencePieceEntry e;
    int32_t bits, len;
    size_t at = pos;
    if (!readI32(pos, bits) || !readI32(pos, len) || len < 0 ||
        static_cast<size_t>(len) > bytes.size() - pos || len > maxLen)
      return Status::error("llama2.c tokenizer truncated or corrupt at byte " +
                           std::to_string(at) + " (token " +
                           std::to_string(pieces.size()) + ")");
    std::memcpy(&e.score, &bits, 4);
    std::string text(bytes.substr(pos, len));
    pos += len;
    size_t id = pieces.size();
    // tokenizer.py's export: BOS/EOS as "\n<s>\n" / "\n</s>\n", U+2581 as ' '.
    if (id == 0) {
      e.type = PieceType::Unknown;
    } else if (id == 1 || id == 2) {
      e.type = PieceType::Control;
      if (text.size() >= 2 && text.front() == '\n' && text.back() == '\n')
        text = text.substr(1, text.size() - 2);
    } else if (isBytePieceName(text)) {
      e.type = PieceType::Byte;
    }
    if (e.type == PieceType::Normal) {
      for (char c : text) {
        if (c == ' ')
          e.piece += kSpaceMark;
        else
          e.piece += c;
      }
    } else {
      e.piece = std::move(text);
    }
    pieces.push_back(std::move(e));
  }
  if (pieces.size() < 3)
    return Status::error("llama2.c tokenizer with fewer than 3 tokens");
  size_t numBytes = 0;
  for (const SentencePieceEntry &e : pieces)
    numBytes += e.type == PieceType::Byte;

  auto tok = std::make_unique<SentencePieceTokenizer>();
  SpecialTokens special;
  special.unk = 0;
  special.bos = 1;
  special.eos = 2;
  tok->setSpecialTokens(special);
  SentencePieceOptions o;
  o.addDummyPrefix = true;
  o.removeExtraWhitespaces = false;
  o.byteFallback = numBytes == 256;
  o.matchSpecialPieces = false; // llama2.c never reads "<s>" in text
  TFC_TRY(tok->init(std::move(pieces), o));
  tok->setTemplate({special.bos}, {});
  out = std::move(tok);
  return Status::success();
}

Status loadLlama2cTokenizer(const std::string &path,
                            std::unique_ptr<Tokenizer> &out) {
  std::string bytes;
  TFC_TRY(readFile(path, bytes));
  return llama2cTokenizerFromBytes(bytes, out).withContext(path);
}

Status sentencePieceModelFromBytes(std::string_view bytes,
                                   std::unique_ptr<Tokenizer> &out) {
  std::vector<SentencePieceEntry> pieces;
  ModelSettings s;
  ProtoReader r(bytes);
  while (!r.done()) {
    uint32_t f, w;
    if (!r.key(f, w))
      return Status::error("not a SentencePiece model (malformed protobuf)");
    if (w == 2 && f >= 1 && f <= 3) {
      std::string_view msg;
      if (!r.bytes(msg))
        return Status::error("SentencePiece model truncated");
      if (f == 1) {
        SentencePieceEntry e;
        TFC_TRY(parsePiece(msg, e).withContext("piece " +
                                               std::to_string(pieces.size())));
        pieces.push_back(std::move(e));
      } else {
        TFC_TRY(parseSpec(msg, f == 2, s));
      }
    } else if (!r.skip(w)) {
      return Status::error("not a SentencePiece model (malformed protobuf)");
    }
  }
  if (pieces.empty())
    return Status::error("SentencePiece model without pieces");
  if (s.modelType != 2)
    return Status::error("SentencePiece model type " +
                         std::to_string(s.modelType) +
                         " is not supported (only BPE, type 2)");
  if (s.precompiledMap)
    return Status::error("SentencePiece normalization rule '" +
                         s.normalizerName +
                         "' is not supported (only 'identity')");
  if (s.treatWhitespaceAsSuffix)
    return Status::error("treat_whitespace_as_suffix is not supported");

  auto tok = std::make_unique<SentencePieceTokenizer>();
  SpecialTokens special;
  special.unk = idOrNone(s.unkId, pieces.size());
  special.bos = idOrNone(s.bosId, pieces.size());
  special.eos = idOrNone(s.eosId, pieces.size());
  special.pad = idOrNone(s.padId, pieces.size());
  tok->setSpecialTokens(special);
  SentencePieceOptions o;
  o.addDummyPrefix = s.addDummyPrefix;
  o.removeExtraWhitespaces = s.removeExtraWhitespaces;
  o.escapeWhitespaces = s.escapeWhitespaces;
  o.byteFallback = s.byteFallback;
  // The sentencepiece library never reads control pieces ("<s>") in text.
  o.matchSpecialPieces = false;
  TFC_TRY(tok->init(std::move(pieces), o));
  if (special.bos >= 0)
    tok->setTemplate({special.bos}, {});
  out = std::move(tok);
  return Status::success();
}

Status loadSentencePieceModel(const std::string &path,
                              std::unique_ptr<Tokenizer> &out) {
  std::string bytes;
  TFC_TRY(readFile(path, bytes));
  return sentencePieceModelFromBytes(bytes, out).withContext(path);
}

} // namespace tokenizer
} // namespace tfc
