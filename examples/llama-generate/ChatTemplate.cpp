//===- ChatTemplate.cpp - the ChatML chat template family -----------------===//

#include "ChatTemplate.h"

#include "tfc/Tokenizer/Gguf.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

namespace llamagen {

namespace fs = std::filesystem;

namespace {

bool readText(const fs::path &p, std::string &out) {
  std::ifstream f(p, std::ios::binary);
  if (!f)
    return false;
  out.assign(std::istreambuf_iterator<char>(f),
             std::istreambuf_iterator<char>());
  return true;
}

bool fromFolder(const fs::path &dir, std::string &text) {
  std::error_code ec;
  std::string cfg;
  if (readText(dir / "tokenizer_config.json", cfg)) {
    nlohmann::json j = nlohmann::json::parse(cfg, nullptr, false);
    if (j.is_object() && j.contains("chat_template") &&
        j["chat_template"].is_string()) {
      text = j["chat_template"].get<std::string>();
      return true;
    }
  }
  return readText(dir / "chat_template.jinja", text);
}

} // namespace

bool findChatTemplate(const std::string &path, std::string &text,
                      std::string &error) {
  std::error_code ec;
  fs::path p(path);
  if (fs::is_directory(p, ec)) {
    if (fromFolder(p, text))
      return true;
    error = "no chat template in '" + path +
            "' (tokenizer_config.json chat_template or chat_template.jinja)";
    return false;
  }
  std::string magic;
  {
    std::ifstream f(p, std::ios::binary);
    char m[4] = {};
    if (f.read(m, 4))
      magic.assign(m, 4);
  }
  if (magic == "GGUF") {
    tfc::tokenizer::GgufFile file;
    tfc::tokenizer::Status s = tfc::tokenizer::GgufFile::open(path, file);
    if (!s.ok()) {
      error = s.message();
      return false;
    }
    if (file.getString("tokenizer.chat_template", text))
      return true;
    error = "'" + path + "' has no tokenizer.chat_template";
    return false;
  }
  if (fromFolder(p.parent_path().empty() ? fs::path(".") : p.parent_path(),
                 text))
    return true;
  error = "no chat template found for '" + path + "'";
  return false;
}

bool parseChatMl(const std::string &t, ChatMl &out, std::string &error) {
  out = ChatMl();
  // The family: each message as '<|im_start|>' + role + '\n' + content +
  // '<|im_end|>' + '\n', then '<|im_start|>assistant\n' as the prompt.
  bool turns =
      t.find("'<|im_start|>' + message['role'] + '\n'") != std::string::npos ||
      t.find("'<|im_start|>' + message.role + '\n'") != std::string::npos;
  bool ends = t.find("<|im_end|>") != std::string::npos;
  bool prompt = t.find("<|im_start|>assistant\n") != std::string::npos;
  if (!turns || !ends || !prompt) {
    error = "the chat template is not of the ChatML family "
            "(<|im_start|>role\\n...<|im_end|>); only that family is "
            "implemented";
    return false;
  }
  const std::string head = "<|im_start|>system\n";
  size_t at = t.find(head);
  if (at != std::string::npos) {
    size_t from = at + head.size();
    size_t end = t.find("<|im_end|>", from);
    // A literal default, not an expression that inserts the message.
    if (end != std::string::npos && t.compare(from, 1, "'") != 0 &&
        t.find("{{", from) > end && t.find("'", from) > end)
      out.defaultSystem = t.substr(from, end - from);
  }
  return true;
}

std::string renderChatMl(const ChatMl &chat, const std::string &user,
                         bool haveSystem, const std::string &system) {
  std::string s;
  const std::string &sys = haveSystem ? system : chat.defaultSystem;
  if (haveSystem || !chat.defaultSystem.empty())
    s += "<|im_start|>system\n" + sys + "<|im_end|>\n";
  s += "<|im_start|>user\n" + user + "<|im_end|>\n";
  s += "<|im_start|>assistant\n";
  return s;
}

} // namespace llamagen
