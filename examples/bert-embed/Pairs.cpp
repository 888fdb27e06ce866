//===- Pairs.cpp - sentence pairs for --pairs -----------------------------===//

#include "Pairs.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>

namespace bertembed {

bool parseScore(const std::string &text, double &out) {
  const char *s = text.c_str();
  while (*s == ' ')
    ++s;
  if (!*s)
    return false;
  char *end = nullptr;
  errno = 0;
  double v = std::strtod(s, &end);
  if (end == s || errno == ERANGE || !std::isfinite(v))
    return false;
  while (*end == ' ')
    ++end;
  if (*end)
    return false;
  out = v;
  return true;
}

bool parsePairLine(const std::string &line, SentencePair &out,
                   std::string &error) {
  std::vector<std::string> cols;
  size_t start = 0;
  while (true) {
    size_t tab = line.find('\t', start);
    cols.push_back(line.substr(start, tab == std::string::npos
                                          ? std::string::npos
                                          : tab - start));
    if (tab == std::string::npos)
      break;
    start = tab + 1;
  }
  if (cols.size() < 2) {
    error = "expected at least two tab-separated columns";
    return false;
  }
  out = SentencePair();
  double score;
  if (cols.size() >= 7 && parseScore(cols[4], score)) {
    out.hasScore = true;
    out.score = score;
    out.first = cols[5];
    out.second = cols[6];
  } else {
    out.first = cols[cols.size() - 2];
    out.second = cols[cols.size() - 1];
  }
  return true;
}

bool readPairs(const std::string &path, std::vector<SentencePair> &out,
               std::string &error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot open pairs file '" + path + "': " + std::strerror(errno);
    return false;
  }
  out.clear();
  std::string line;
  size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty())
      continue;
    SentencePair p;
    std::string why;
    if (!parsePairLine(line, p, why)) {
      error = path + ":" + std::to_string(number) + ": " + why;
      return false;
    }
    p.line = number;
    out.push_back(std::move(p));
  }
  if (in.bad()) {
    error = "error reading '" + path + "'";
    return false;
  }
  return true;
}

} // namespace bertembed
