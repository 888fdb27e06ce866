//===- Sampler.h - next-token sampling as llama2.c does it ------*- C++ -*-===//
//
// llama2.c's sampler (run.c), reproduced operation for operation so that a
// seeded run gives the same tokens as `run -t T -p P -s S`:
//   - temperature 0: argmax (the first maximum);
//   - otherwise logits /= T, softmax in float (max subtracted, expf), one
//     float coin from the xorshift RNG per sampled token, then
//       top-p in (0, 1): sample_topp — only probabilities >= (1-p)/(n-1) are
//         candidates, sorted descending, cut after the cumulative sum first
//         exceeds p, and the coin scaled by that sum;
//       otherwise: sample_mult over the whole distribution.
// Top-k (not in llama2.c) keeps the k largest logits before the softmax;
// with k = 0 the path is exactly llama2.c's.
//
//===----------------------------------------------------------------------===//
#ifndef TFC_EXAMPLES_LLAMAGENERATE_SAMPLER_H
#define TFC_EXAMPLES_LLAMAGENERATE_SAMPLER_H

#include <cstdint>
#include <vector>

namespace llamagen {

/// llama2.c's xorshift* generator.
struct Rng {
  unsigned long long state;
  explicit Rng(unsigned long long seed) : state(seed) {}
  uint32_t nextU32() {
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return static_cast<uint32_t>((state * 0x2545F4914F6CDD1Dull) >> 32);
  }
  /// A float in [0, 1) with 24 random bits.
  float nextF32() { return (nextU32() >> 8) / 16777216.0f; }
};

struct SamplerOptions {
  float temperature = 1.0f; // 0 = greedy
  float topP = 0.9f;        // <= 0 or >= 1: off
  int topK = 0;             // 0: off
  unsigned long long seed = 0;
};

class Sampler {
public:
  explicit Sampler(const SamplerOptions &options)
      : opts(options), rng(options.seed) {}

  /// Picks the next token from `logits` [vocab]; `logits` is overwritten
  /// (llama2.c works in place).
  int32_t sample(std::vector<float> &logits);

  const SamplerOptions &options() const { return opts; }

private:
  SamplerOptions opts;
  Rng rng;
  struct ProbIndex {
    float prob;
    int32_t index;
  };
  std::vector<ProbIndex> probIndex;
};

// The pieces, for tests.
int32_t sampleArgmax(const float *probabilities, int32_t n);
void softmaxInPlace(float *x, int32_t n);
int32_t sampleMult(const float *probabilities, int32_t n, float coin);

} // namespace llamagen

#endif // TFC_EXAMPLES_LLAMAGENERATE_SAMPLER_H
