//===- HfBpeLoader.cpp - byte-level BPE from a tokenizer.json -------------===//
//
// Accepts what ByteLevelBpeTokenizer implements and refuses the rest by name:
//   model          BPE (vocab, merges as "a b" or ["a", "b"]), no
//                  continuing_subword_prefix / end_of_word_suffix, no dropout,
//                  ignore_merges false;
//   normalizer     none (null or an empty Sequence);
//   pre_tokenizer  ByteLevel(use_regex), Sequence[Digits(individual_digits),
//                  ByteLevel(use_regex)], Sequence[Split(GPT-2's pattern,
//                  Isolated), ByteLevel(use_regex=false)], or Falcon's
//                  Sequence[Punctuation(Contiguous), ByteLevel(use_regex),
//                  Digits(individual_digits=false), Split("[0-9][0-9][0-9]",
//                  Isolated)];
//   post_processor TemplateProcessing (the single template), ByteLevel, none.
// Added tokens are matched in the raw text. BOS/EOS come from
// tokenizer_config.json beside the file when there is one.
//
//===----------------------------------------------------------------------===//

#include "tfc/Tokenizer/ByteLevelBpe.h"

#include "LoaderUtils.h"

#include <nlohmann/json.hpp>

namespace tfc {
namespace tokenizer {

using json = nlohmann::json;

namespace {

const char kGpt2Pattern[] = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| "
                            "?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

std::string typeOf(const json &j) {
  if (j.is_object()) {
    auto t = j.find("type");
    if (t != j.end() && t->is_string())
      return t->get<std::string>();
  }
  return j.is_null() ? "none" : "?";
}

bool boolField(const json &j, const char *key, bool dflt) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : dflt;
}

Status parsePreTokenizer(const json &pre, ByteLevelBpeOptions &o) {
  std::string type = typeOf(pre);
  if (type == "ByteLevel") {
    if (!boolField(pre, "use_regex", true))
      return Status::error("ByteLevel pre-tokenizer without use_regex and "
                           "without a Split before it");
    o.preTokenizer = BpePreTokenizer::Gpt2;
    o.addPrefixSpace = boolField(pre, "add_prefix_space", false);
    return Status::success();
  }
  auto stringField = [](const json &j, const char *key) {
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>()
                                            : std::string();
  };
  auto splitRegex = [&](const json &j) {
    auto p = j.find("pattern");
    return p != j.end() && p->is_object() ? stringField(*p, "Regex")
                                          : std::string();
  };
  // Falcon's (tokenizers writes it so for tiiuae/falcon-*).
  if (type == "Sequence" && pre.contains("pretokenizers") &&
      pre["pretokenizers"].is_array() && pre["pretokenizers"].size() == 4) {
    const json &p = pre["pretokenizers"];
    if (typeOf(p[0]) == "Punctuation" &&
        stringField(p[0], "behavior") == "Contiguous" &&
        typeOf(p[1]) == "ByteLevel" && boolField(p[1], "use_regex", true) &&
        typeOf(p[2]) == "Digits" &&
        !boolField(p[2], "individual_digits", false) &&
        typeOf(p[3]) == "Split" && splitRegex(p[3]) == "[0-9][0-9][0-9]" &&
        stringField(p[3], "behavior") == "Isolated" &&
        !boolField(p[3], "invert", false)) {
      o.preTokenizer = BpePreTokenizer::Falcon;
      o.addPrefixSpace = boolField(p[1], "add_prefix_space", false);
      return Status::success();
    }
  }
  if (type == "Sequence" && pre.contains("pretokenizers") &&
      pre["pretokenizers"].is_array() && pre["pretokenizers"].size() == 2) {
    const json &a = pre["pretokenizers"][0], &b = pre["pretokenizers"][1];
    if (typeOf(a) == "Digits" && boolField(a, "individual_digits", false) &&
        typeOf(b) == "ByteLevel" && boolField(b, "use_regex", true)) {
      o.preTokenizer = BpePreTokenizer::Gpt2IndividualDigits;
      o.addPrefixSpace = boolField(b, "add_prefix_space", false);
      return Status::success();
    }
    if (typeOf(a) == "Split" && typeOf(b) == "ByteLevel" &&
        !boolField(b, "use_regex", true) && a.contains("pattern") &&
        a["pattern"].is_object()) {
      const json &p = a["pattern"];
      std::string regex = p.contains("Regex") && p["Regex"].is_string()
                              ? p["Regex"].get<std::string>()
                              : std::string();
      std::string behavior = a.contains("behavior") && a["behavior"].is_string()
                                 ? a["behavior"].get<std::string>()
                                 : std::string();
      if (regex == kGpt2Pattern && behavior == "Isolated" &&
          !boolField(a, "invert", false)) {
        o.preTokenizer = BpePreTokenizer::Gpt2;
        o.addPrefixSpace = boolField(b, "add_prefix_space", false);
        return Status::success();
      }
      return Status::error("Split pattern '" + regex +
                           "' is not supported (only GPT-2's)");
    }
  }
  return Status::error("unsupported pre_tokenizer '" + type +
                       "' for byte-level BPE (ByteLevel, optionally after "
                       "Digits(individual_digits) or GPT-2's Split, or "
                       "Falcon's sequence)");
}

Status parseTemplate(const json &post, std::vector<int32_t> &prefix,
                     std::vector<int32_t> &suffix) {
  std::string type = typeOf(post);
  if (type == "none" || type == "ByteLevel")
    return Status::success();
  if (type != "TemplateProcessing")
    return Status::error("unsupported post_processor '" + type + "'");
  auto single = post.find("single");
  if (single == post.end() || !single->is_array())
    return Status::error("TemplateProcessing without 'single'");
  bool seenA = false;
  for (const json &item : *single) {
    if (item.contains("Sequence")) {
      seenA = true;
      continue;
    }
    auto st = item.find("SpecialToken");
    if (st == item.end() || !st->contains("id") || !(*st)["id"].is_string())
      return Status::error("malformed TemplateProcessing item");
    std::string name = (*st)["id"].get<std::string>();
    auto sp = post.find("special_tokens");
    if (sp == post.end() || !sp->contains(name) ||
        !(*sp)[name].contains("ids") || !(*sp)[name]["ids"].is_array())
      return Status::error("template token '" + name + "' has no ids");
    for (const json &id : (*sp)[name]["ids"]) {
      if (!id.is_number_integer())
        return Status::error("template token '" + name + "' has a bad id");
      (seenA ? suffix : prefix).push_back(id.get<int32_t>());
    }
  }
  return Status::success();
}

Status loadBpe(const json &root, const json *config,
               std::unique_ptr<Tokenizer> &out) {
  const json &model = root["model"];
  auto vocab = model.find("vocab");
  if (vocab == model.end() || !vocab->is_object())
    return Status::error("BPE model without a 'vocab' object");
  std::vector<std::pair<std::string, int32_t>> entries;
  entries.reserve(vocab->size());
  for (auto it = vocab->begin(); it != vocab->end(); ++it) {
    if (!it.value().is_number_integer())
      return Status::error("vocab entry '" + it.key() +
                           "' has a non-integer id");
    entries.emplace_back(it.key(), it.value().get<int32_t>());
  }
  for (const char *key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    auto it = model.find(key);
    if (it != model.end() && it->is_string() && !it->get<std::string>().empty())
      return Status::error(std::string("BPE ") + key + " is not supported");
  }
  if (boolField(model, "ignore_merges", false))
    return Status::error("BPE ignore_merges is not supported");
  auto dropout = model.find("dropout");
  if (dropout != model.end() && !dropout->is_null())
    return Status::error("BPE dropout is not supported");

  std::vector<std::pair<std::string, std::string>> merges;
  auto m = model.find("merges");
  if (m == model.end() || !m->is_array())
    return Status::error("BPE model without 'merges'");
  merges.reserve(m->size());
  for (const json &rule : *m) {
    if (rule.is_string()) {
      std::string s = rule.get<std::string>();
      size_t sp = s.find(' ', 1);
      if (sp == std::string::npos)
        return Status::error("merge rule '" + s + "' has no space");
      merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else if (rule.is_array() && rule.size() == 2 && rule[0].is_string() &&
               rule[1].is_string()) {
      merges.emplace_back(rule[0].get<std::string>(),
                          rule[1].get<std::string>());
    } else {
      return Status::error("malformed merge rule");
    }
  }

  auto norm = root.find("normalizer");
  if (norm != root.end() && !norm->is_null()) {
    bool empty = typeOf(*norm) == "Sequence" && norm->contains("normalizers") &&
                 (*norm)["normalizers"].is_array() &&
                 (*norm)["normalizers"].empty();
    if (!empty)
      return Status::error("unsupported normalizer '" + typeOf(*norm) +
                           "' for byte-level BPE");
  }
  ByteLevelBpeOptions o;
  auto pre = root.find("pre_tokenizer");
  TFC_TRY(parsePreTokenizer(pre == root.end() ? json() : *pre, o));

  auto tok = std::make_unique<ByteLevelBpeTokenizer>();
  TFC_TRY(tok->setVocab(entries));
  // Added tokens may lie past the model's vocabulary: extend it first.
  auto added = root.find("added_tokens");
  std::vector<AddedToken> addedTokens;
  if (added != root.end() && !added->is_array() && !added->is_null())
    return Status::error("added_tokens must be an array");
  if (added != root.end() && added->is_array()) {
    bool grow = false;
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
      t.normalized = false; // no normalizer: raw and normalized text agree
      t.special = boolField(a, "special", false);
      if (tok->tokenText(t.id) != t.content) {
        entries.emplace_back(t.content, t.id);
        grow = true;
      }
      addedTokens.push_back(t);
    }
    if (grow)
      TFC_TRY(tok->setVocab(entries));
  }
  SpecialTokens special;
  std::string unk;
  auto u = model.find("unk_token");
  if (u != model.end() && u->is_string())
    special.unk = tok->tokenId(u->get<std::string>());
  if (config) {
    for (auto [key, id] :
         {std::pair<const char *, int32_t *>{"bos_token", &special.bos},
          {"eos_token", &special.eos},
          {"pad_token", &special.pad}}) {
      auto it = config->find(key);
      if (it == config->end())
        continue;
      std::string name;
      if (it->is_string())
        name = it->get<std::string>();
      else if (it->is_object() && it->contains("content") &&
               (*it)["content"].is_string())
        name = (*it)["content"].get<std::string>();
      if (!name.empty())
        *id = tok->tokenId(name);
    }
  }
  tok->setSpecialTokens(special);
  TFC_TRY(tok->init(merges, o));
  for (const AddedToken &t : addedTokens)
    if (!t.content.empty())
      TFC_TRY(tok->addAddedToken(t).withContext("added_tokens"));
  std::vector<int32_t> prefix, suffix;
  auto post = root.find("post_processor");
  TFC_TRY(parseTemplate(post == root.end() ? json() : *post, prefix, suffix)
              .withContext("post_processor"));
  tok->setTemplate(prefix, suffix);
  out = std::move(tok);
  return Status::success();
}

} // namespace

Status byteLevelBpeFromJson(const json &root, const json *config,
                            std::unique_ptr<Tokenizer> &out) {
  try {
    return loadBpe(root, config, out);
  } catch (const std::exception &e) {
    return Status::error(std::string("malformed tokenizer.json: ") + e.what());
  }
}

} // namespace tokenizer
} // namespace tfc
