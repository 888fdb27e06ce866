//===- TestUtils.h - helpers of the tokenizer tests -------------*- C++ -*-===//
#ifndef TFC_TEST_TOKENIZER_TESTUTILS_H
#define TFC_TEST_TOKENIZER_TESTUTILS_H

#include "tfc/Tokenizer/Gguf.h"
#include "tfc/Tokenizer/Loader.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

namespace tfc {
namespace tokenizer {
namespace test {

/// The shared folder: $TFC_SHARED_DIR, else the CMake cache variable.
inline std::string sharedDir() {
  if (const char *env = std::getenv("TFC_SHARED_DIR"))
    if (*env)
      return env;
  return TFC_SHARED_DIR;
}

inline std::string vectorsDir() {
  return sharedDir() + "/testdata/tokenizer-vectors";
}

inline bool readBytes(const std::string &path, std::string &out) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return false;
  out.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

/// Loads a GGUF vocab. A copy of such a file that went through a UTF-8 text
/// conversion has each invalid byte replaced by EF BF BD, which breaks the
/// binary layout; when the file fails to parse and holds that pattern, the
/// pattern is collapsed back to one byte (0x80; the original value is lost,
/// which only matters for numbers the tokenizer does not read) and `repaired`
/// says so. Strings (the tokens) are valid UTF-8 and were not touched.
inline Status loadGgufVocab(const std::string &path,
                            std::unique_ptr<Tokenizer> &tok,
                            const LoadOptions &options, bool &repaired,
                            std::string &firstError) {
  repaired = false;
  GgufFile file;
  Status s = GgufFile::open(path, file);
  if (!s.ok()) {
    firstError = s.message();
    std::string bytes;
    if (!readBytes(path, bytes))
      return s;
    const std::string bad = "\xEF\xBF\xBD";
    if (bytes.find(bad) == std::string::npos)
      return s;
    std::string fixed;
    fixed.reserve(bytes.size());
    for (size_t i = 0; i < bytes.size();) {
      if (bytes.compare(i, 3, bad) == 0) {
        fixed.push_back('\x80');
        i += 3;
      } else {
        fixed.push_back(bytes[i++]);
      }
    }
    Status r = GgufFile::parse(fixed.data(), fixed.size(), file);
    if (!r.ok())
      return s;
    repaired = true;
  }
  return tokenizerFromGguf(file, tok, options);
}

/// Splits a llama.cpp test-tokenizer-0 .inp file: texts are separated by
/// "\n__ggml_vocab_test__\n" (the file ends with one); a tail after the last
/// separator is one more text.
inline std::vector<std::string> splitVocabTestInputs(const std::string &raw) {
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  size_t pos = 0;
  while (pos < raw.size()) {
    size_t next = raw.find(sep, pos);
    if (next == std::string::npos) {
      texts.push_back(raw.substr(pos));
      break;
    }
    texts.push_back(raw.substr(pos, next - pos));
    pos = next + sep.size();
  }
  return texts;
}

/// The .out file: one line of space-separated ids per text.
inline std::vector<std::vector<int32_t>>
parseVocabTestOutputs(const std::string &raw) {
  std::vector<std::vector<int32_t>> rows;
  std::istringstream lines(raw);
  std::string line;
  while (std::getline(lines, line)) {
    std::vector<int32_t> ids;
    std::istringstream words(line);
    long long id;
    while (words >> id)
      ids.push_back(static_cast<int32_t>(id));
    rows.push_back(ids);
  }
  return rows;
}

inline std::string idsToString(const std::vector<int32_t> &ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i)
    s += (i ? " " : "") + std::to_string(ids[i]);
  return s;
}

} // namespace test
} // namespace tokenizer
} // namespace tfc

#endif // TFC_TEST_TOKENIZER_TESTUTILS_H
