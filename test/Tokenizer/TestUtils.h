//===- TestUtils.h - helpers of the tokenizer tests -------------*- C++ -*-===//
#ifndef TFC_TEST_TOKENIZER_TESTUTILS_H
#define TFC_TEST_TOKENIZER_TESTUTILS_H

#include "tfc/Tokenizer/Decode.h"
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

/// Where examples/llama-generate/fetch_vocab_vectors.py puts the intact
/// llama.cpp test vocabularies: $TFC_VOCAB_CACHE, else .cache/ in the tree.
inline std::string vocabCacheDir() {
  if (const char *env = std::getenv("TFC_VOCAB_CACHE"))
    if (*env)
      return env;
  return std::string(TFC_SOURCE_DIR) + "/.cache/tokenizer-vectors";
}

/// The llama.cpp test vocabulary `name` (e.g. "ggml-vocab-gpt-2.gguf"): the
/// shared copy when it parses as GGUF (the byte-exact original), else the
/// one fetched into vocabCacheDir().
inline std::string intactVocab(const std::string &name) {
  const std::string shared = vectorsDir() + "/" + name;
  GgufFile file;
  if (GgufFile::open(shared, file).ok())
    return shared;
  return vocabCacheDir() + "/" + name;
}

/// Whether `original` is the file that became `copy` through a UTF-8 text
/// conversion (every invalid sequence replaced by U+FFFD), or the same file.
inline bool isOriginalOf(const std::string &original, const std::string &copy) {
  return original == copy || sanitizeUtf8(original) == copy;
}

/// Loads a GGUF vocab. A file that parses is used as it is: the byte-exact
/// originals hold EF BF BD themselves (U+FFFD is a token of several
/// vocabularies), so that pattern alone does not mean damage. A copy that
/// went through a UTF-8 text conversion has each invalid byte replaced by EF
/// BF BD, which breaks the binary layout. When the file does not parse, holds
/// that pattern and an intact copy of the same name is in vocabCacheDir()
/// whose conversion gives exactly this file, the intact copy is loaded and
/// `source` names it. Otherwise, if
/// `collapseRepair` and the file fails to parse, the pattern is collapsed
/// back to one byte (0x80; the original value is lost, which only matters
/// for numbers the tokenizer does not read: fine for WordPiece, not for
/// SentencePiece scores) and `repaired` says so. Strings (the tokens) are
/// valid UTF-8 and were not touched.
inline Status loadGgufVocab(const std::string &path,
                            std::unique_ptr<Tokenizer> &tok,
                            const LoadOptions &options, bool &repaired,
                            std::string &firstError, std::string *source,
                            bool collapseRepair = true) {
  repaired = false;
  {
    GgufFile file;
    if (GgufFile::open(path, file).ok()) {
      if (source)
        *source = path;
      return tokenizerFromGguf(file, tok, options);
    }
  }
  std::string bytes;
  if (readBytes(path, bytes) && bytes.find("\xEF\xBF\xBD") != std::string::npos) {
    std::string name = path.substr(path.find_last_of('/') + 1);
    std::string cached = vocabCacheDir() + "/" + name, original;
    if (readBytes(cached, original) && isOriginalOf(original, bytes)) {
      GgufFile file;
      Status s = GgufFile::parse(original.data(), original.size(), file);
      if (!s.ok())
        return s.withContext(cached);
      if (source)
        *source = cached;
      return tokenizerFromGguf(file, tok, options);
    }
    if (!collapseRepair)
      return Status::error(
          "test data not found: '" + path +
          "' was damaged by a UTF-8 conversion and no verified original is "
          "in '" + vocabCacheDir() +
          "' (run examples/llama-generate/fetch_vocab_vectors.py)");
  }
  if (source)
    *source = path;
  GgufFile file;
  Status s = GgufFile::open(path, file);
  if (!s.ok()) {
    firstError = s.message();
    if (!collapseRepair || !readBytes(path, bytes))
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
