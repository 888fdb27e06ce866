//===- CalibData.cpp - calibration samples for tfc-calibrate --------------===//
#include "CalibData.h"

#include "Npz.h"
#include "tfc/Tokenizer/Loader.h"

#include <fstream>
#include <memory>
#include <sstream>

using namespace tfccalib;

namespace {

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool readFile(const std::string &path, std::string &out, std::string &error) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    error = "cannot read '" + path + "'";
    return false;
  }
  std::ostringstream ss;
  ss << f.rdbuf();
  out = ss.str();
  return true;
}

std::vector<std::string> splitLines(const std::string &text) {
  std::vector<std::string> lines;
  std::istringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    lines.push_back(line);
  }
  return lines;
}

/// Sentences of an STS-B file (columns 6 and 7 of tab-separated lines) or
/// the non-empty lines of a text file.
std::vector<std::string> sentencesOf(const std::string &text) {
  std::vector<std::string> out;
  for (const std::string &line : splitLines(text)) {
    std::vector<std::string> cols;
    std::string col;
    std::istringstream ls(line);
    while (std::getline(ls, col, '\t'))
      cols.push_back(col);
    if (cols.size() >= 7) {
      out.push_back(cols[5]);
      out.push_back(cols[6]);
    } else if (line.find_first_not_of(" \t") != std::string::npos) {
      out.push_back(line);
    }
  }
  return out;
}

} // namespace

bool tfccalib::sampleFromIds(const std::vector<int64_t> &ids,
                             const std::vector<std::string> &inputNames,
                             Sample &out, std::string &error) {
  int64_t n = static_cast<int64_t>(ids.size());
  out.clear();
  for (const std::string &name : inputNames) {
    Tensor t;
    t.shape = {1, n};
    if (name == "input_ids")
      t.data = ids;
    else if (name == "attention_mask")
      t.data.assign(static_cast<size_t>(n), 1);
    else if (name == "token_type_ids")
      t.data.assign(static_cast<size_t>(n), 0);
    else if (name == "position_ids")
      for (int64_t i = 0; i < n; ++i)
        t.data.push_back(i);
    else {
      error = "cannot fill the model input '" + name +
              "' from text (known: input_ids, attention_mask, "
              "token_type_ids, position_ids): give an .npz";
      return false;
    }
    out[name] = std::move(t);
  }
  return true;
}

static bool loadNpz(const DataOptions &o,
                    const std::vector<std::string> &inputNames,
                    std::vector<Sample> &out, std::string &error) {
  std::map<std::string, tfcrun::NpyArray> arrays;
  if (!tfcrun::readNpz(o.path, arrays, error))
    return false;
  auto take = [&](const std::string &prefix, Sample &s) -> bool {
    for (const std::string &name : inputNames) {
      auto it = arrays.find(prefix + name);
      if (it == arrays.end())
        return false;
      Tensor t;
      t.shape = it->second.shape();
      for (int64_t i = 0; i < it->second.numElements(); ++i)
        t.data.push_back(static_cast<int64_t>(it->second.at(i)));
      s[name] = std::move(t);
    }
    return true;
  };
  Sample s;
  if (take("", s)) {
    out.push_back(std::move(s));
    return true;
  }
  for (int c = 0; static_cast<int64_t>(out.size()) < o.samples; ++c) {
    Sample cs;
    if (!take("case" + std::to_string(c) + "_", cs))
      break;
    out.push_back(std::move(cs));
  }
  if (out.empty()) {
    error = "'" + o.path + "' has neither arrays named like the model's "
            "inputs nor case<k>_<input> arrays (inputs:";
    for (const std::string &n : inputNames)
      error += " " + n;
    error += ")";
    return false;
  }
  return true;
}

bool tfccalib::loadSamples(const DataOptions &o,
                           const std::vector<std::string> &inputNames,
                           std::vector<Sample> &out, std::string &describe,
                           std::string &error) {
  out.clear();
  if (endsWith(o.path, ".npz")) {
    if (!loadNpz(o, inputNames, out, error))
      return false;
    describe = std::to_string(out.size()) + " input set(s) from " + o.path;
    return true;
  }
  if (o.tokenizer.empty()) {
    error = "text data needs --tokenizer (the model's own: a Hugging Face "
            "folder, tokenizer.json, .gguf, SentencePiece .model or "
            "llama2.c .bin)";
    return false;
  }
  std::unique_ptr<tfc::tokenizer::Tokenizer> tok;
  tfc::tokenizer::Status st = tfc::tokenizer::loadTokenizer(o.tokenizer, tok);
  if (!st.ok()) {
    error = "tokenizer '" + o.tokenizer + "': " + st.message();
    return false;
  }
  std::string text;
  if (!readFile(o.path, text, error))
    return false;
  Mode mode = o.mode;
  if (mode == Mode::Auto)
    mode = endsWith(o.path, ".csv") || endsWith(o.path, ".tsv")
               ? Mode::Sentences
               : Mode::Windows;
  if (mode == Mode::Sentences) {
    int64_t len = o.seqLen > 0 ? o.seqLen : 128;
    std::vector<std::string> sentences = sentencesOf(text);
    int64_t tokens = 0;
    for (const std::string &s : sentences) {
      if (static_cast<int64_t>(out.size()) >= o.samples)
        break;
      std::vector<int32_t> ids32;
      st = tok->encodeWithSpecial(s, static_cast<size_t>(len), ids32);
      if (!st.ok()) {
        error = "tokenizing sentence " + std::to_string(out.size()) + ": " +
                st.message();
        return false;
      }
      std::vector<int64_t> ids(ids32.begin(), ids32.end());
      tokens += static_cast<int64_t>(ids.size());
      Sample smp;
      if (!sampleFromIds(ids, inputNames, smp, error))
        return false;
      out.push_back(std::move(smp));
    }
    describe = std::to_string(out.size()) + " sentences (" +
               std::to_string(tokens) + " tokens, at most " +
               std::to_string(len) + " each) from " + o.path;
    return true;
  }
  int64_t len = o.seqLen > 0 ? o.seqLen : 512;
  std::vector<int32_t> ids32;
  st = tok->encode(text, ids32);
  if (!st.ok()) {
    error = "tokenizing '" + o.path + "': " + st.message();
    return false;
  }
  int64_t windows = static_cast<int64_t>(ids32.size()) / len;
  if (windows == 0) {
    error = "'" + o.path + "' has " + std::to_string(ids32.size()) +
            " tokens, fewer than one window of --seq-len " +
            std::to_string(len);
    return false;
  }
  for (int64_t w = 0; w < windows && w < o.samples; ++w) {
    std::vector<int64_t> ids(ids32.begin() + w * len,
                             ids32.begin() + (w + 1) * len);
    Sample smp;
    if (!sampleFromIds(ids, inputNames, smp, error))
      return false;
    out.push_back(std::move(smp));
  }
  describe = std::to_string(out.size()) + " windows of " +
             std::to_string(len) + " tokens (of " + std::to_string(windows) +
             " in " + std::to_string(ids32.size()) + " tokens) from " +
             o.path;
  return true;
}
