//===- Pairs.h - sentence pairs for --pairs ---------------------*- C++ -*-===//
//
// A pairs file is tab-separated, one pair per line:
//   - STS Benchmark layout (sts-test.csv): genre, file, year, id, score,
//     sentence1, sentence2[, source1, source2] -- at least 7 columns with a
//     number in column 4 (0-based): the sentences are columns 5 and 6 and the
//     score is column 4. (Some STS-B rows carry two extra source columns, so
//     "the last two columns" would be wrong for them.)
//   - otherwise the last two columns are the sentences, with no score.
// Empty lines are skipped; a CR before the newline is dropped.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_EXAMPLES_BERTEMBED_PAIRS_H
#define TFC_EXAMPLES_BERTEMBED_PAIRS_H

#include <cstddef>
#include <string>
#include <vector>

namespace bertembed {

struct SentencePair {
  std::string first, second;
  bool hasScore = false;
  double score = 0;
  size_t line = 0; // 1-based line in the file
};

/// Whole-string float ("3.8", " 2 "); false for "", "x", "3x", "nan"/"inf".
bool parseScore(const std::string &text, double &out);

/// Parses one line (without its newline). False, with `error`, when it has
/// fewer than two columns.
bool parsePairLine(const std::string &line, SentencePair &out,
                   std::string &error);

/// Reads a pairs file; errors name the file and line.
bool readPairs(const std::string &path, std::vector<SentencePair> &out,
               std::string &error);

} // namespace bertembed

#endif // TFC_EXAMPLES_BERTEMBED_PAIRS_H
