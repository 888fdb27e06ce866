//===- EmbedMath.h - pooling, normalization and rank statistics -*- C++ -*-===//
//
// The arithmetic of bert-embed, free of the runtime so it can be unit-tested:
// sentence-transformers' mean pooling and L2 normalization, cosine
// similarity, and Spearman's rank correlation (average ranks for ties, as
// scipy.stats.spearmanr).
//
//===----------------------------------------------------------------------===//
#ifndef TFC_EXAMPLES_BERTEMBED_EMBEDMATH_H
#define TFC_EXAMPLES_BERTEMBED_EMBEDMATH_H

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bertembed {

/// Mean of hidden[b, s, :] over the positions with mask[b, s] != 0, for each
/// row b: hidden [batch, seq, dim], mask [batch, seq] -> [batch, dim]. A row
/// with no unmasked position gives zeros (the count is clamped to 1e-9, as
/// sentence-transformers does).
std::vector<float> meanPool(const float *hidden, const int64_t *mask,
                            size_t batch, size_t seq, size_t dim);

/// Divides each row of x [rows, dim] by max(||row||, 1e-12) in place (as
/// torch.nn.functional.normalize); returns the norms before.
std::vector<float> l2NormalizeRows(std::vector<float> &x, size_t rows,
                                   size_t dim);

/// Cosine similarity; 0 when either vector is zero.
double cosine(const float *a, const float *b, size_t dim);

/// Ranks 1..n, ties sharing the average of their ranks.
std::vector<double> averageRanks(const std::vector<double> &x);
/// Pearson correlation; NaN when n < 2 or a side is constant.
double pearson(const std::vector<double> &x, const std::vector<double> &y);
/// Spearman's rho: Pearson correlation of the average ranks.
double spearman(const std::vector<double> &x, const std::vector<double> &y);

/// IEEE half and bfloat16 to float (outputs of mixed-precision models).
float halfToFloat(uint16_t h);
float bf16ToFloat(uint16_t b);

} // namespace bertembed

#endif // TFC_EXAMPLES_BERTEMBED_EMBEDMATH_H
