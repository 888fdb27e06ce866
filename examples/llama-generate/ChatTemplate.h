//===- ChatTemplate.h - the ChatML chat template family ---------*- C++ -*-===//
//
// SmolLM2-Instruct (like Qwen and others) formats a conversation as ChatML:
//   <|im_start|>system\nSYSTEM<|im_end|>\n<|im_start|>user\nPROMPT<|im_end|>\n
//   <|im_start|>assistant\n
// and its Jinja template inserts a default system message when the
// conversation has none. This is not a Jinja engine: it reads the model's
// template text (GGUF tokenizer.chat_template, tokenizer_config.json's
// chat_template or chat_template.jinja), accepts it only when it is of this
// family, takes the default system message out of it, and renders one user
// turn with the generation prompt.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_EXAMPLES_LLAMAGENERATE_CHATTEMPLATE_H
#define TFC_EXAMPLES_LLAMAGENERATE_CHATTEMPLATE_H

#include <string>

namespace llamagen {

struct ChatMl {
  /// The system message the template adds when there is none; may be "".
  std::string defaultSystem;
};

/// The template text that goes with a tokenizer path (a .gguf file, a
/// tokenizer.json or a folder). False with a message when there is none.
bool findChatTemplate(const std::string &tokenizerPath, std::string &text,
                      std::string &error);

/// Accepts a ChatML-family template. False with a message otherwise.
bool parseChatMl(const std::string &templateText, ChatMl &out,
                 std::string &error);

/// One user turn and the assistant's generation prompt. `system` replaces
/// the default system message when `haveSystem`.
std::string renderChatMl(const ChatMl &chat, const std::string &user,
                         bool haveSystem, const std::string &system);

} // namespace llamagen

#endif // TFC_EXAMPLES_LLAMAGENERATE_CHATTEMPLATE_H
