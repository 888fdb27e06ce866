//===- Status.h - error reporting of the tokenizer library ------*- C++ -*-===//
//
// The tokenizer library never throws out of its API and never aborts: every
// operation that can fail on user input returns a Status carrying a message.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_TOKENIZER_STATUS_H
#define TFC_TOKENIZER_STATUS_H

#include <string>
#include <utility>

namespace tfc {
namespace tokenizer {

class [[nodiscard]] Status {
public:
  Status() = default; // success
  static Status success() { return Status(); }
  static Status error(std::string message) {
    Status s;
    s.failed = true;
    s.msg = std::move(message);
    return s;
  }

  bool ok() const { return !failed; }
  const std::string &message() const { return msg; }

  /// Prefixes the message with context ("loading vocab.txt: ...").
  Status &withContext(const std::string &context) {
    if (failed)
      msg = context + ": " + msg;
    return *this;
  }

private:
  bool failed = false;
  std::string msg;
};

} // namespace tokenizer
} // namespace tfc

#endif // TFC_TOKENIZER_STATUS_H
