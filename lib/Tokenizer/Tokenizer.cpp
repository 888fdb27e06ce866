//===- Tokenizer.cpp - vocabulary, template, batch encoding ---------------===//

#include "tfc/Tokenizer/Tokenizer.h"

#include <algorithm>
#include <limits>

namespace tfc {
namespace tokenizer {

Tokenizer::~Tokenizer() = default;

const std::string &Tokenizer::tokenText(int32_t id) const {
  static const std::string empty;
  if (id < 0 || static_cast<size_t>(id) >= idToToken.size())
    return empty;
  return idToToken[id];
}

int32_t Tokenizer::tokenId(std::string_view token) const {
  auto it = tokenToIdMap.find(std::string(token));
  return it == tokenToIdMap.end() ? -1 : it->second;
}

Status Tokenizer::setVocab(
    const std::vector<std::pair<std::string, int32_t>> &entries) {
  int64_t maxId = -1;
  for (const auto &e : entries) {
    if (e.second < 0)
      return Status::error("token '" + e.first + "' has negative id " +
                           std::to_string(e.second));
    maxId = std::max<int64_t>(maxId, e.second);
  }
  // Ids index a dense table; refuse absurd gaps rather than allocate them.
  if (maxId >= static_cast<int64_t>(entries.size()) * 4 + 1024)
    return Status::error("vocabulary ids are too sparse (max id " +
                         std::to_string(maxId) + " for " +
                         std::to_string(entries.size()) + " tokens)");
  idToToken.assign(static_cast<size_t>(maxId + 1), std::string());
  tokenToIdMap.clear();
  tokenToIdMap.reserve(entries.size());
  for (const auto &e : entries) {
    idToToken[e.second] = e.first;
    tokenToIdMap[e.first] = e.second;
  }
  return Status::success();
}

Status Tokenizer::setVocab(const std::vector<std::string> &tokens) {
  if (tokens.size() >
      static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    return Status::error("vocabulary too large");
  idToToken = tokens;
  tokenToIdMap.clear();
  tokenToIdMap.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i)
    tokenToIdMap[tokens[i]] = static_cast<int32_t>(i);
  return Status::success();
}

Status Tokenizer::addAddedToken(const AddedToken &token) {
  if (token.content.empty())
    return Status::error("added token with empty content");
  if (token.id < 0 || static_cast<size_t>(token.id) >= idToToken.size())
    return Status::error("added token '" + token.content + "' has id " +
                         std::to_string(token.id) +
                         " outside the vocabulary (size " +
                         std::to_string(idToToken.size()) + ")");
  for (AddedToken &t : added) {
    if (t.content == token.content && t.normalized == token.normalized) {
      t.id = token.id;
      return Status::success();
    }
  }
  added.push_back(token);
  // Longest first, so the first match at a position is the longest.
  std::stable_sort(added.begin(), added.end(),
                   [](const AddedToken &a, const AddedToken &b) {
                     return a.content.size() > b.content.size();
                   });
  return Status::success();
}

void Tokenizer::splitOnAddedTokens(
    std::string_view text, bool normalized,
    std::vector<std::pair<std::string_view, int32_t>> &pieces) const {
  bool any = false;
  bool firstByte[256] = {};
  for (const AddedToken &t : added) {
    if (t.normalized != normalized)
      continue;
    any = true;
    firstByte[static_cast<unsigned char>(t.content[0])] = true;
  }
  if (!any) {
    if (!text.empty())
      pieces.emplace_back(text, -1);
    return;
  }
  size_t start = 0, pos = 0;
  while (pos < text.size()) {
    const AddedToken *match = nullptr;
    if (firstByte[static_cast<unsigned char>(text[pos])]) {
      for (const AddedToken &t : added) {
        if (t.normalized == normalized &&
            text.compare(pos, t.content.size(), t.content) == 0) {
          match = &t;
          break;
        }
      }
    }
    if (!match) {
      ++pos;
      continue;
    }
    if (pos > start)
      pieces.emplace_back(text.substr(start, pos - start), -1);
    pieces.emplace_back(text.substr(pos, match->content.size()), match->id);
    pos += match->content.size();
    start = pos;
  }
  if (start < text.size())
    pieces.emplace_back(text.substr(start), -1);
}

Status Tokenizer::encodeWithSpecial(std::string_view text, size_t maxLength,
                                    std::vector<int32_t> &ids) const {
  std::vector<int32_t> body;
  Status s = encode(text, body);
  if (!s.ok())
    return s;
  size_t numSpecial = prefix.size() + suffix.size();
  if (maxLength > 0) {
    if (maxLength < numSpecial)
      return Status::error("max length " + std::to_string(maxLength) +
                           " cannot hold the " + std::to_string(numSpecial) +
                           " special tokens of the template");
    if (body.size() > maxLength - numSpecial)
      body.resize(maxLength - numSpecial);
  }
  ids.clear();
  ids.reserve(body.size() + numSpecial);
  ids.insert(ids.end(), prefix.begin(), prefix.end());
  ids.insert(ids.end(), body.begin(), body.end());
  ids.insert(ids.end(), suffix.begin(), suffix.end());
  return Status::success();
}

Status encodeBatch(const Tokenizer &tokenizer,
                   const std::vector<std::string> &texts,
                   const BatchOptions &options, BatchEncoding &out) {
  out = BatchEncoding();
  std::vector<std::vector<int32_t>> rows(texts.size());
  size_t longest = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    Status s;
    if (options.addSpecialTokens) {
      s = tokenizer.encodeWithSpecial(texts[i], options.maxLength, rows[i]);
    } else {
      s = tokenizer.encode(texts[i], rows[i]);
      if (s.ok() && options.maxLength > 0 && rows[i].size() > options.maxLength)
        rows[i].resize(options.maxLength);
    }
    if (!s.ok())
      return s.withContext("text " + std::to_string(i));
    longest = std::max(longest, rows[i].size());
  }
  size_t seqLen = longest;
  if (options.padToMaxLength && options.maxLength > 0)
    seqLen = options.maxLength;
  int32_t pad = tokenizer.specialTokens().pad;
  for (size_t i = 0; i < rows.size(); ++i)
    if (rows[i].size() < seqLen && pad < 0)
      return Status::error("padding needed (text " + std::to_string(i) +
                           ") but the tokenizer has no pad token");
  out.batchSize = texts.size();
  out.seqLen = seqLen;
  out.inputIds.assign(out.batchSize * seqLen, pad < 0 ? 0 : pad);
  out.attentionMask.assign(out.batchSize * seqLen, 0);
  out.tokenTypeIds.assign(out.batchSize * seqLen, 0);
  out.lengths.resize(out.batchSize);
  for (size_t i = 0; i < rows.size(); ++i) {
    out.lengths[i] = rows[i].size();
    for (size_t j = 0; j < rows[i].size(); ++j) {
      out.inputIds[i * seqLen + j] = rows[i][j];
      out.attentionMask[i * seqLen + j] = 1;
    }
  }
  return Status::success();
}

} // namespace tokenizer
} // namespace tfc
