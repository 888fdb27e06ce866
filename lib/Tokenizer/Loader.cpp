//===- Loader.cpp - pick a loader from a path -----------------------------===//

#include "tfc/Tokenizer/Loader.h"
#include "tfc/Tokenizer/SentencePiece.h"

#include "LoaderUtils.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace tfc {
namespace tokenizer {

namespace fs = std::filesystem;

Status readFile(const std::string &path, std::string &out) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    return Status::error("cannot open '" + path + "': " +
                         std::strerror(errno));
  out.clear();
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0)
    out.append(buf, n);
  bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed)
    return Status::error("error reading '" + path + "'");
  return Status::success();
}

static bool endsWith(const std::string &s, const char *suffix) {
  size_t n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

static bool hasGgufMagic(const std::string &path) {
  std::FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    return false;
  char magic[4] = {};
  bool ok = std::fread(magic, 1, 4, f) == 4 && std::memcmp(magic, "GGUF", 4) == 0;
  std::fclose(f);
  return ok;
}

Status loadTokenizer(const std::string &path, std::unique_ptr<Tokenizer> &out,
                     const LoadOptions &options) {
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st))
    return Status::error("'" + path + "' does not exist");
  if (fs::is_directory(st))
    return loadHfTokenizer(path, out, options);
  if (endsWith(path, ".gguf") || hasGgufMagic(path))
    return loadGgufTokenizer(path, out, options);
  if (endsWith(path, ".json")) {
    std::string text;
    TFC_TRY(readFile(path, text));
    return loadHfTokenizerJson(text, out, options).withContext(path);
  }
  if (endsWith(path, ".model"))
    return loadSentencePieceModel(path, out);
  if (endsWith(path, ".bin"))
    return loadLlama2cTokenizer(path, out);
  if (endsWith(path, "vocab.txt")) {
    std::string dir = fs::path(path).parent_path().string();
    return loadHfTokenizer(dir.empty() ? "." : dir, out, options);
  }
  return Status::error("'" + path +
                       "' is not a model folder, tokenizer.json, vocab.txt, "
                       ".gguf, SentencePiece .model or llama2.c .bin file");
}

} // namespace tokenizer
} // namespace tfc
