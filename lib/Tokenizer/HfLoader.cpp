//===- HfLoader.cpp - tokenizers from Hugging Face model folders ----------===//
//
// tokenizer.json (the `tokenizers` library's serialization) is preferred;
// vocab.txt + tokenizer_config.json (the slow BertTokenizer's files) is the
// fallback. Only what the WordPiece tokenizer implements is accepted: any
// other normalizer, pre-tokenizer or post-processor is refused by name so a
// model never runs with silently different token ids.
//
//===----------------------------------------------------------------------===//

#include "tfc/Tokenizer/Loader.h"
#include "tfc/Tokenizer/SentencePiece.h"
#include "tfc/Tokenizer/WordPiece.h"

#include "LoaderUtils.h"

#include <nlohmann/json.hpp>

#include <filesystem>

namespace tfc {
namespace tokenizer {

using json = nlohmann::json;
namespace fs = std::filesystem;

// HfBpeLoader.cpp: model type "BPE" (byte-level). `config` is the parsed
// tokenizer_config.json beside the file, or null.
Status byteLevelBpeFromJson(const json &root, const json *config,
                            std::unique_ptr<Tokenizer> &out);

namespace {

// Optional typed fields: absent or null keeps `out`; a wrong type is an error.
Status getBool(const json &obj, const char *key, bool &out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return Status::success();
  if (!it->is_boolean())
    return Status::error(std::string("'") + key + "' must be a boolean");
  out = it->get<bool>();
  return Status::success();
}

Status getString(const json &obj, const char *key, std::string &out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return Status::success();
  // tokenizer_config.json writes special tokens either as a string or as an
  // AddedToken object {"content": ...}.
  if (it->is_object()) {
    auto c = it->find("content");
    if (c != it->end() && c->is_string()) {
      out = c->get<std::string>();
      return Status::success();
    }
  }
  if (!it->is_string())
    return Status::error(std::string("'") + key + "' must be a string");
  out = it->get<std::string>();
  return Status::success();
}

Status getSize(const json &obj, const char *key, size_t &out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return Status::success();
  if (!it->is_number_integer() || it->get<int64_t>() < 0)
    return Status::error(std::string("'") + key +
                         "' must be a non-negative integer");
  out = static_cast<size_t>(it->get<int64_t>());
  return Status::success();
}

// Normalizer settings, with strip_accents kept tri-state until the end.
struct NormalizerSettings {
  bool cleanText = false;
  bool handleChineseChars = false;
  bool lowercase = false;
  int stripAccents = 0; // 0 off, 1 on, -1 follow lowercase (BertNormalizer)
};

Status parseBertNormalizer(const json &n, NormalizerSettings &s) {
  s.cleanText = true;
  s.handleChineseChars = true;
  s.lowercase = true;
  s.stripAccents = -1;
  TFC_TRY(getBool(n, "clean_text", s.cleanText));
  TFC_TRY(getBool(n, "handle_chinese_chars", s.handleChineseChars));
  TFC_TRY(getBool(n, "lowercase", s.lowercase));
  auto it = n.find("strip_accents");
  if (it != n.end() && !it->is_null()) {
    if (!it->is_boolean())
      return Status::error("'strip_accents' must be a boolean or null");
    s.stripAccents = it->get<bool>() ? 1 : 0;
  }
  return Status::success();
}

Status parseNormalizer(const json &n, NormalizerSettings &s) {
  if (n.is_null())
    return Status::success();
  if (!n.is_object() || !n.contains("type") || !n["type"].is_string())
    return Status::error("normalizer must be an object with a type");
  std::string type = n["type"].get<std::string>();
  if (type == "BertNormalizer")
    return parseBertNormalizer(n, s);
  if (type == "Lowercase") {
    s.lowercase = true;
    return Status::success();
  }
  if (type != "Sequence")
    return Status::error("unsupported normalizer '" + type + "'");
  auto it = n.find("normalizers");
  if (it == n.end() || !it->is_array())
    return Status::error("Sequence normalizer without 'normalizers'");
  // NFD followed (anywhere later) by StripAccents is the one accent
  // stripping the WordPiece tokenizer implements; either alone is refused.
  bool sawNfd = false;
  for (const json &child : *it) {
    std::string ct = child.is_object() && child.contains("type") &&
                             child["type"].is_string()
                         ? child["type"].get<std::string>()
                         : std::string();
    if (ct == "NFD") {
      sawNfd = true;
    } else if (ct == "StripAccents") {
      if (!sawNfd)
        return Status::error(
            "unsupported normalizer sequence: StripAccents without NFD");
      s.stripAccents = 1;
    } else if (ct == "Lowercase" || ct == "BertNormalizer") {
      TFC_TRY(parseNormalizer(child, s));
    } else {
      return Status::error("unsupported normalizer '" +
                           (ct.empty() ? std::string("?") : ct) +
                           "' in Sequence");
    }
  }
  if (sawNfd && s.stripAccents != 1)
    return Status::error(
        "unsupported normalizer sequence: NFD without StripAccents");
  return Status::success();
}

// The ids of a TemplateProcessing piece or a [token, id] pair.
Status specialIds(const json &post, const std::string &name,
                  std::vector<int32_t> &ids) {
  auto st = post.find("special_tokens");
  if (st == post.end() || !st->is_object() || !st->contains(name))
    return Status::error("template refers to special token '" + name +
                         "' missing from special_tokens");
  const json &entry = (*st)[name];
  if (!entry.contains("ids") || !entry["ids"].is_array())
    return Status::error("special token '" + name + "' has no ids");
  for (const json &id : entry["ids"]) {
    if (!id.is_number_integer())
      return Status::error("special token '" + name + "' has a non-integer id");
    ids.push_back(id.get<int32_t>());
  }
  return Status::success();
}

Status parsePostProcessor(const json &post, std::vector<int32_t> &prefix,
                          std::vector<int32_t> &suffix, int32_t &cls,
                          int32_t &sep) {
  if (post.is_null())
    return Status::success();
  if (!post.is_object() || !post.contains("type") ||
      !post["type"].is_string())
    return Status::error("post_processor must be an object with a type");
  std::string type = post["type"].get<std::string>();
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    auto pairId = [&](const char *key, int32_t &id) -> Status {
      auto it = post.find(key);
      if (it == post.end() || !it->is_array() || it->size() != 2 ||
          !(*it)[1].is_number_integer())
        return Status::error(type + " needs '" + key + "': [token, id]");
      id = (*it)[1].get<int32_t>();
      return Status::success();
    };
    TFC_TRY(pairId("cls", cls));
    TFC_TRY(pairId("sep", sep));
    prefix = {cls};
    suffix = {sep};
    return Status::success();
  }
  if (type != "TemplateProcessing")
    return Status::error("unsupported post_processor '" + type + "'");
  auto single = post.find("single");
  if (single == post.end() || !single->is_array())
    return Status::error("TemplateProcessing without a 'single' template");
  bool sawSequence = false;
  for (const json &piece : *single) {
    if (piece.contains("Sequence")) {
      if (sawSequence)
        return Status::error("single template has two sequences");
      sawSequence = true;
      continue;
    }
    if (!piece.contains("SpecialToken") ||
        !piece["SpecialToken"].contains("id") ||
        !piece["SpecialToken"]["id"].is_string())
      return Status::error("unrecognized piece in the single template");
    std::string name = piece["SpecialToken"]["id"].get<std::string>();
    std::vector<int32_t> ids;
    TFC_TRY(specialIds(post, name, ids));
    std::vector<int32_t> &dst = sawSequence ? suffix : prefix;
    dst.insert(dst.end(), ids.begin(), ids.end());
  }
  if (!sawSequence)
    return Status::error("single template has no sequence");
  if (!prefix.empty())
    cls = prefix.front();
  if (!suffix.empty())
    sep = suffix.back();
  return Status::success();
}

void applyOverrides(const LoadOptions &options, NormalizerSettings &s) {
  if (options.lowercase >= 0)
    s.lowercase = options.lowercase != 0;
  if (options.stripAccents >= 0)
    s.stripAccents = options.stripAccents != 0 ? 1 : 0;
}

WordPieceOptions toWordPieceOptions(const NormalizerSettings &s) {
  WordPieceOptions o;
  o.cleanText = s.cleanText;
  o.handleChineseChars = s.handleChineseChars;
  o.lowercase = s.lowercase;
  o.stripAccents = s.stripAccents < 0 ? s.lowercase : s.stripAccents == 1;
  return o;
}

Status loadFromJson(const json &root, std::unique_ptr<Tokenizer> &out,
                    const LoadOptions &options, const json *config) {
  if (!root.is_object())
    return Status::error("top level is not an object");
  auto model = root.find("model");
  if (model == root.end() || !model->is_object())
    return Status::error("no 'model' object");
  std::string type;
  TFC_TRY(getString(*model, "type", type));
  if (type == "BPE")
    return byteLevelBpeFromJson(root, config, out);
  if (type != "WordPiece")
    return Status::error("model type '" + type +
                         "' is not supported (only WordPiece and BPE)");
  auto vocab = model->find("vocab");
  if (vocab == model->end() || !vocab->is_object())
    return Status::error("WordPiece model without a 'vocab' object");
  std::vector<std::pair<std::string, int32_t>> entries;
  entries.reserve(vocab->size());
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it.value().is_number_integer())
      return Status::error("vocab entry '" + it.key() +
                           "' has a non-integer id");
    int64_t id = it.value().get<int64_t>();
    if (id < 0 || id > INT32_MAX)
      return Status::error("vocab entry '" + it.key() + "' has id " +
                           std::to_string(id));
    entries.emplace_back(it.key(), static_cast<int32_t>(id));
  }

  NormalizerSettings ns;
  auto norm = root.find("normalizer");
  if (norm != root.end())
    TFC_TRY(parseNormalizer(*norm, ns).withContext("normalizer"));
  applyOverrides(options, ns);
  WordPieceOptions wp = toWordPieceOptions(ns);
  TFC_TRY(getString(*model, "unk_token", wp.unkToken));
  TFC_TRY(getString(*model, "continuing_subword_prefix",
                    wp.continuingSubwordPrefix));
  TFC_TRY(getSize(*model, "max_input_chars_per_word",
                  wp.maxInputCharsPerWord));

  auto pre = root.find("pre_tokenizer");
  if (pre == root.end() || pre->is_null() || !pre->is_object() ||
      !pre->contains("type") || (*pre)["type"] != "BertPreTokenizer") {
    std::string name = pre != root.end() && pre->is_object() &&
                               pre->contains("type") &&
                               (*pre)["type"].is_string()
                           ? (*pre)["type"].get<std::string>()
                           : std::string("none");
    return Status::error("unsupported pre_tokenizer '" + name +
                         "' (WordPiece needs BertPreTokenizer)");
  }

  auto tok = std::make_unique<WordPieceTokenizer>();
  TFC_TRY(tok->setVocab(entries));
  TFC_TRY(tok->init(wp));

  SpecialTokens special;
  special.unk = tok->tokenId(wp.unkToken);
  std::vector<int32_t> prefix, suffix;
  auto post = root.find("post_processor");
  if (post != root.end())
    TFC_TRY(parsePostProcessor(*post, prefix, suffix, special.cls,
                               special.sep)
                .withContext("post_processor"));
  for (int32_t id : prefix)
    if (tok->tokenText(id).empty())
      return Status::error("template id " + std::to_string(id) +
                           " is not in the vocabulary");
  for (int32_t id : suffix)
    if (tok->tokenText(id).empty())
      return Status::error("template id " + std::to_string(id) +
                           " is not in the vocabulary");
  tok->setTemplate(prefix, suffix);

  auto added = root.find("added_tokens");
  if (added != root.end() && !added->is_array() && !added->is_null())
    return Status::error("added_tokens must be an array");
  if (added != root.end() && added->is_array()) {
    for (const json &a : *added) {
      if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() ||
          !a.contains("content") || !a["content"].is_string())
        return Status::error("malformed entry in added_tokens");
      // get<int32_t> wrapped ids past 2^31 (found by fuzzing, test/Fuzz).
      int64_t id = a["id"].get<int64_t>();
      if (id < 0 || id > INT32_MAX)
        return Status::error("added token id " + std::to_string(id) +
                             " is out of range");
      AddedToken t;
      t.id = static_cast<int32_t>(id);
      t.content = a["content"].get<std::string>();
      TFC_TRY(getBool(a, "normalized", t.normalized));
      // Normalized added tokens are matched in normalized text, so their
      // content is normalized the same way (as tokenizers does).
      if (t.normalized)
        t.content = tok->normalize(t.content);
      if (!t.content.empty())
        TFC_TRY(tok->addAddedToken(t).withContext("added_tokens"));
    }
  }

  std::string padToken = "[PAD]";
  auto padding = root.find("padding");
  if (padding != root.end() && padding->is_object())
    TFC_TRY(getString(*padding, "pad_token", padToken));
  special.pad = tok->tokenId(padToken);
  special.mask = tok->tokenId("[MASK]");
  tok->setSpecialTokens(special);
  out = std::move(tok);
  return Status::success();
}

// Special-token names of tokenizer_config.json / special_tokens_map.json.
struct TokenNames {
  std::string unk = "[UNK]", sep = "[SEP]", pad = "[PAD]", cls = "[CLS]",
              mask = "[MASK]";
};

Status readTokenNames(const json &cfg, TokenNames &names) {
  TFC_TRY(getString(cfg, "unk_token", names.unk));
  TFC_TRY(getString(cfg, "sep_token", names.sep));
  TFC_TRY(getString(cfg, "pad_token", names.pad));
  TFC_TRY(getString(cfg, "cls_token", names.cls));
  TFC_TRY(getString(cfg, "mask_token", names.mask));
  return Status::success();
}

Status parseJsonFile(const std::string &path, json &out) {
  std::string text;
  TFC_TRY(readFile(path, text));
  out = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (out.is_discarded())
    return Status::error("'" + path + "' is not valid JSON");
  return Status::success();
}

Status loadFromVocabTxt(const fs::path &dir, std::unique_ptr<Tokenizer> &out,
                        const LoadOptions &options) {
  std::string vocabPath = (dir / "vocab.txt").string();
  std::string text;
  TFC_TRY(readFile(vocabPath, text));
  std::vector<std::string> tokens;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    size_t end = nl == std::string::npos ? text.size() : nl;
    std::string line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    tokens.push_back(line);
    start = end + 1;
  }
  if (tokens.empty())
    return Status::error("'" + vocabPath + "' is empty");

  NormalizerSettings ns;
  ns.cleanText = true;
  ns.handleChineseChars = true;
  ns.lowercase = true; // BertTokenizer's do_lower_case default
  ns.stripAccents = -1;
  TokenNames names;
  json cfg;
  fs::path cfgPath = dir / "tokenizer_config.json";
  std::error_code ec;
  if (fs::exists(cfgPath, ec)) {
    TFC_TRY(parseJsonFile(cfgPath.string(), cfg));
    if (!cfg.is_object())
      return Status::error("'" + cfgPath.string() + "' is not an object");
    Status s = getBool(cfg, "do_lower_case", ns.lowercase);
    if (s.ok())
      s = getBool(cfg, "tokenize_chinese_chars", ns.handleChineseChars);
    if (s.ok()) {
      auto it = cfg.find("strip_accents");
      if (it != cfg.end() && !it->is_null()) {
        if (it->is_boolean())
          ns.stripAccents = it->get<bool>() ? 1 : 0;
        else
          s = Status::error("'strip_accents' must be a boolean or null");
      }
    }
    bool basic = true;
    if (s.ok())
      s = getBool(cfg, "do_basic_tokenize", basic);
    if (s.ok() && !basic)
      s = Status::error("do_basic_tokenize=false is not supported");
    if (s.ok())
      s = readTokenNames(cfg, names);
    if (!s.ok())
      return s.withContext(cfgPath.string());
  }
  applyOverrides(options, ns);

  auto tok = std::make_unique<WordPieceTokenizer>();
  TFC_TRY(tok->setVocab(tokens));
  WordPieceOptions wp = toWordPieceOptions(ns);
  wp.unkToken = names.unk;
  TFC_TRY(tok->init(wp).withContext(vocabPath));
  SpecialTokens special;
  special.unk = tok->tokenId(names.unk);
  special.cls = tok->tokenId(names.cls);
  special.sep = tok->tokenId(names.sep);
  special.pad = tok->tokenId(names.pad);
  special.mask = tok->tokenId(names.mask);
  if (special.cls < 0 || special.sep < 0)
    return Status::error("'" + vocabPath + "' lacks '" + names.cls +
                         "' or '" + names.sep + "'");
  tok->setTemplate({special.cls}, {special.sep});
  // The slow tokenizer never splits its special tokens.
  for (const std::string *name :
       {&names.unk, &names.sep, &names.pad, &names.cls, &names.mask}) {
    int32_t id = tok->tokenId(*name);
    if (id >= 0)
      TFC_TRY(tok->addAddedToken({*name, id, false}));
  }
  tok->setSpecialTokens(special);
  out = std::move(tok);
  return Status::success();
}

} // namespace

Status loadHfTokenizerJson(std::string_view text,
                           std::unique_ptr<Tokenizer> &out,
                           const LoadOptions &options) {
  json root = json::parse(text.begin(), text.end(), nullptr,
                          /*allow_exceptions=*/false);
  if (root.is_discarded())
    return Status::error("tokenizer.json is not valid JSON");
  // Type checks above guard every access; this is a last line of defence so
  // that no json exception leaves the library.
  try {
    return loadFromJson(root, out, options, nullptr);
  } catch (const std::exception &e) {
    return Status::error(std::string("malformed tokenizer.json: ") + e.what());
  }
}

Status loadHfTokenizer(const std::string &dir, std::unique_ptr<Tokenizer> &out,
                       const LoadOptions &options) {
  std::error_code ec;
  fs::path root(dir);
  if (!fs::is_directory(root, ec))
    return Status::error("'" + dir + "' is not a folder");
  fs::path tj = root / "tokenizer.json";
  try {
    if (fs::exists(tj, ec)) {
      std::string text;
      TFC_TRY(readFile(tj.string(), text));
      json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (j.is_discarded())
        return Status::error("'" + tj.string() + "' is not valid JSON");
      json cfg;
      fs::path cfgPath = root / "tokenizer_config.json";
      if (fs::exists(cfgPath, ec))
        TFC_TRY(parseJsonFile(cfgPath.string(), cfg));
      return loadFromJson(j, out, options, cfg.is_object() ? &cfg : nullptr)
          .withContext(tj.string());
    }
    if (fs::exists(root / "vocab.txt", ec))
      return loadFromVocabTxt(root, out, options);
    if (fs::exists(root / "tokenizer.model", ec))
      return loadSentencePieceModel((root / "tokenizer.model").string(), out);
  } catch (const std::exception &e) {
    return Status::error("loading '" + dir + "': " + e.what());
  }
  return Status::error("'" + dir + "' has no tokenizer.json, vocab.txt or "
                             "tokenizer.model");
}

} // namespace tokenizer
} // namespace tfc
