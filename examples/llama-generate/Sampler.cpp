//===- Sampler.cpp - next-token sampling as llama2.c does it --------------===//

#include "Sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace llamagen {

int32_t sampleArgmax(const float *p, int32_t n) {
  int32_t best = 0;
  float maxP = p[0];
  for (int32_t i = 1; i < n; ++i)
    if (p[i] > maxP) {
      best = i;
      maxP = p[i];
    }
  return best;
}

void softmaxInPlace(float *x, int32_t n) {
  float maxVal = x[0];
  for (int32_t i = 1; i < n; ++i)
    if (x[i] > maxVal)
      maxVal = x[i];
  float sum = 0.0f;
  for (int32_t i = 0; i < n; ++i) {
    x[i] = expf(x[i] - maxVal);
    sum += x[i];
  }
  for (int32_t i = 0; i < n; ++i)
    x[i] /= sum;
}

int32_t sampleMult(const float *p, int32_t n, float coin) {
  float cdf = 0.0f;
  for (int32_t i = 0; i < n; ++i) {
    cdf += p[i];
    if (coin < cdf)
      return i;
  }
  return n - 1; // rounding
}

int32_t Sampler::sample(std::vector<float> &logits) {
  const int32_t n = static_cast<int32_t>(logits.size());
  if (n == 0)
    return -1;
  if (opts.temperature == 0.0f)
    return sampleArgmax(logits.data(), n);
  for (float &l : logits)
    l /= opts.temperature;
  if (opts.topK > 0 && opts.topK < n) {
    // Keep the k largest; ties at the threshold keep the lower ids.
    std::vector<int32_t> order(n);
    for (int32_t i = 0; i < n; ++i)
      order[i] = i;
    std::nth_element(order.begin(), order.begin() + (opts.topK - 1),
                     order.end(), [&](int32_t a, int32_t b) {
                       return logits[a] > logits[b] ||
                              (logits[a] == logits[b] && a < b);
                     });
    std::vector<bool> keep(n, false);
    for (int32_t k = 0; k < opts.topK; ++k)
      keep[order[k]] = true;
    for (int32_t i = 0; i < n; ++i)
      if (!keep[i])
        logits[i] = -std::numeric_limits<float>::infinity();
  }
  softmaxInPlace(logits.data(), n);
  float coin = rng.nextF32();
  if (opts.topP <= 0.0f || opts.topP >= 1.0f)
    return sampleMult(logits.data(), n, coin);

  // sample_topp: candidates above the cutoff, sorted by probability.
  const float cutoff = (1.0f - opts.topP) / static_cast<float>(n - 1);
  probIndex.clear();
  for (int32_t i = 0; i < n; ++i)
    if (logits[i] >= cutoff)
      probIndex.push_back({logits[i], i});
  // glibc's qsort is a merge sort here, so stable: equal probabilities stay
  // in id order.
  std::sort(probIndex.begin(), probIndex.end(),
            [](const ProbIndex &a, const ProbIndex &b) {
              return a.prob > b.prob || (a.prob == b.prob && a.index < b.index);
            });
  float cumulative = 0.0f;
  int32_t last = static_cast<int32_t>(probIndex.size()) - 1;
  for (int32_t i = 0; i < static_cast<int32_t>(probIndex.size()); ++i) {
    cumulative += probIndex[i].prob;
    if (cumulative > opts.topP) {
      last = i;
      break;
    }
  }
  float r = coin * cumulative;
  float cdf = 0.0f;
  for (int32_t i = 0; i <= last; ++i) {
    cdf += probIndex[i].prob;
    if (r < cdf)
      return probIndex[i].index;
  }
  return probIndex[last].index;
}

} // namespace llamagen
