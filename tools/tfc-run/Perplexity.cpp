//===- Perplexity.cpp - tfc-run --perplexity ------------------------------===//
//
// The strided sliding-window perplexity of HF's guide ("Perplexity of
// fixed-length models"); scripts/perplexity_ort.py does the same windows
// and the same NLL arithmetic through ONNX Runtime.
//
//===----------------------------------------------------------------------===//

#include "Perplexity.h"
#include "Decode.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

namespace tfcrun {
namespace {

struct Window {
  int64_t begin, end;  // tokens [begin, end) go in
  int64_t firstScored; // window index of the first scored target (>= 1)
};

int fail(const PerplexityOptions &o, const std::string &msg) {
  std::fprintf(stderr, "tfc-run: %serror: %s\n", rankPrefix().c_str(),
               msg.c_str());
  if (o.json) {
    std::string e;
    for (char c : msg)
      e += (c == '"' || c == '\\')                  ? std::string("\\") + c
           : (static_cast<unsigned char>(c) < 0x20) ? std::string(" ")
                                                    : std::string(1, c);
    std::printf("{\"ok\": false, \"error\": \"%s\"}\n", e.c_str());
  }
  return 1;
}

/// The token ids of o.tokens; "" on success, else the error.
std::string loadTokens(const PerplexityOptions &o,
                       std::vector<int64_t> &tokens) {
  std::ifstream in(o.tokens);
  if (!in)
    return "cannot open token file '" + o.tokens + "'";
  std::string word;
  while (in >> word) {
    char *end = nullptr;
    long long v = std::strtoll(word.c_str(), &end, 10);
    if (*end || v < 0)
      return "token file '" + o.tokens + "': '" + word + "' is not a token id";
    tokens.push_back(v);
  }
  if (tokens.size() < 2)
    return "token file '" + o.tokens + "' has fewer than 2 tokens";
  return "";
}

/// -log softmax(row)[target] in double (max-subtracted).
double nll(const float *row, int64_t V, int64_t target) {
  double mx = -INFINITY;
  for (int64_t v = 0; v < V; ++v)
    mx = std::max(mx, static_cast<double>(row[v]));
  double sum = 0;
  for (int64_t v = 0; v < V; ++v)
    sum += std::exp(static_cast<double>(row[v]) - mx);
  return mx + std::log(sum) - static_cast<double>(row[target]);
}

} // namespace

int runPerplexity(tfc_model *model, const PerplexityOptions &o) {
  const int64_t C = o.context, S = o.stride > 0 ? o.stride : o.context;
  if (C < 2)
    return fail(o, "--perplexity needs --context C >= 2");
  if (S > C)
    return fail(o, "--stride must not exceed --context (tokens would be "
                   "skipped)");
  std::vector<int64_t> tokens;
  if (std::string e = loadTokens(o, tokens); !e.empty())
    return fail(o, e);
  const int64_t N = static_cast<int64_t>(tokens.size());

  // Inputs: input_ids and (optionally) attention_mask, both i64.
  size_t nIn = tfc_model_num_inputs(model);
  int idsIdx = -1, maskIdx = -1;
  for (size_t i = 0; i < nIn; ++i) {
    const char *name = nullptr;
    tfc_dtype dt;
    int32_t rank;
    int64_t dims[TFC_MAX_RANK];
    tfc_model_input_info(model, i, &name, &dt, &rank, dims);
    std::string n = name ? name : "";
    if (rank != 2 || dt != TFC_DTYPE_I64)
      return fail(o, "--perplexity: input '" + n + "' is not [batch, seq] i64");
    if (n == "input_ids")
      idsIdx = static_cast<int>(i);
    else if (n == "attention_mask")
      maskIdx = static_cast<int>(i);
    else
      return fail(o, "--perplexity: unsupported model input '" + n +
                         "' (only input_ids and attention_mask)");
  }
  if (idsIdx < 0)
    return fail(o, "--perplexity: the model has no input 'input_ids'");
  {
    tfc_dtype dt;
    int32_t rank;
    int64_t dims[TFC_MAX_RANK];
    tfc_model_output_info(model, 0, nullptr, &dt, &rank, dims);
    if (dt != TFC_DTYPE_F32 || rank != 3)
      return fail(o, "--perplexity: output 0 is not [batch, seq, vocab] f32");
  }

  // Windows (HF: end = min(begin + C, N); the targets are the last
  // end - prevEnd tokens, less the window's first one).
  std::vector<Window> windows;
  int64_t prevEnd = 0;
  for (int64_t begin = 0; begin < N; begin += S) {
    int64_t end = std::min(begin + C, N);
    int64_t trg = end - prevEnd;
    int64_t len = end - begin;
    windows.push_back({begin, end, std::max<int64_t>(1, len - trg)});
    prevEnd = end;
    if (end == N)
      break;
    if (o.maxChunks > 0 && static_cast<int>(windows.size()) == o.maxChunks)
      break;
  }

  double nllSum = 0;
  int64_t scored = 0;
  auto t0 = std::chrono::steady_clock::now();
  const int64_t B = std::max(1, o.batch);
  for (size_t w = 0; w < windows.size();) {
    // A group of windows of the same length (the last may be shorter).
    int64_t len = windows[w].end - windows[w].begin;
    size_t g = w;
    while (g < windows.size() && static_cast<int64_t>(g - w) < B &&
           windows[g].end - windows[g].begin == len)
      ++g;
    int64_t b = static_cast<int64_t>(g - w);
    std::vector<int64_t> ids(b * len), mask(b * len, 1);
    for (int64_t i = 0; i < b; ++i)
      std::memcpy(&ids[i * len], &tokens[windows[w + i].begin],
                  len * sizeof(int64_t));
    tfc_tensor inputs[2];
    tfc_tensor idsT = {TFC_DTYPE_I64, 2, {b, len}, ids.data()};
    tfc_tensor maskT = {TFC_DTYPE_I64, 2, {b, len}, mask.data()};
    inputs[idsIdx] = idsT;
    if (maskIdx >= 0)
      inputs[maskIdx] = maskT;
    size_t nOut = tfc_model_num_outputs(model);
    std::vector<tfc_tensor> outs(nOut);
    tfc_status s = tfc_model_run(model, inputs, nIn, outs.data(), nOut);
    if (s != TFC_OK)
      return fail(o, std::string("run failed (") + tfc_status_string(s) +
                         "): " + tfc_last_error());
    const tfc_tensor &lg = outs[0];
    if (lg.shape[0] != b || lg.shape[1] != len) {
      for (auto &t : outs)
        tfc_tensor_free(&t);
      return fail(o, "--perplexity: logits shape does not match the input");
    }
    const int64_t V = lg.shape[2];
    const float *data = static_cast<const float *>(lg.data);
    for (int64_t i = 0; i < b; ++i) {
      const Window &win = windows[w + i];
      for (int64_t t = win.firstScored; t < len; ++t) {
        const float *row = data + (i * len + t - 1) * V;
        int64_t target = ids[i * len + t];
        if (target >= V) {
          for (auto &tt : outs)
            tfc_tensor_free(&tt);
          return fail(o, "token id " + std::to_string(target) +
                             " is not below the vocabulary size " +
                             std::to_string(V));
        }
        nllSum += nll(row, V, target);
        ++scored;
      }
    }
    for (auto &t : outs)
      tfc_tensor_free(&t);
    w = g;
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  double meanNll = nllSum / static_cast<double>(scored);
  double ppl = std::exp(meanNll);
  if (o.json) {
    std::printf("{\"ok\": true, \"tokens_file\": \"%s\", \"tokens_in_file\": "
                "%lld, \"context\": %lld, \"stride\": %lld, \"windows\": %zu, "
                "\"tokens_evaluated\": %lld, \"mean_nll\": %.17g, "
                "\"perplexity\": %.17g, \"seconds\": %.3f}\n",
                o.tokens.c_str(), (long long)N, (long long)C, (long long)S,
                windows.size(), (long long)scored, meanNll, ppl, secs);
  } else {
    std::printf("tokens in file: %lld\n", (long long)N);
    std::printf("context %lld, stride %lld, windows: %zu\n", (long long)C,
                (long long)S, windows.size());
    std::printf("tokens evaluated: %lld\n", (long long)scored);
    std::printf("mean nll: %.10f\n", meanNll);
    std::printf("perplexity: %.10f\n", ppl);
    std::printf("time: %.2f s\n", secs);
  }
  return 0;
}

int runStreamPerplexity(tfc_model *model, const PerplexityOptions &o) {
  std::vector<int64_t> tokens;
  if (std::string e = loadTokens(o, tokens); !e.empty())
    return fail(o, e);
  const int64_t N =
      o.stream > 0 ? std::min<int64_t>(o.stream, tokens.size()) : tokens.size();
  if (N < 2)
    return fail(o, "--stream: fewer than 2 tokens to stream");
  const int64_t C = o.chunk > 0 ? o.chunk : 512;
  const int64_t bucket = o.bucket > 0 ? o.bucket : 1024;
  // A linear cache holds the whole stream (a ring session ignores max_len).
  const int64_t maxLen = o.maxLen > 0 ? o.maxLen : N;
  tfc_session *s = nullptr;
  tfc_status st = tfc_session_create(model, 1, maxLen, &s);
  if (st != TFC_OK)
    return fail(o, std::string("--stream: tfc_session_create failed (") +
                       tfc_status_string(st) + "): " + tfc_last_error() +
                       " (the model must be compiled with --kv-cache)");
  tfc_session_info info{};
  tfc_session_get_info(s, &info);
  if (!info.ring && N > info.max_len) {
    tfc_session_free(s);
    return fail(o, "--stream: " + std::to_string(N) +
                       " tokens do not fit the session's max_len " +
                       std::to_string(info.max_len) +
                       " (give --max-len, or compile a ring cache with "
                       "--kv-evict)");
  }
  // Position p's logits score token p + 1; per bucket of positions.
  std::vector<double> bucketNll((N - 1 + bucket - 1) / bucket, 0.0);
  std::vector<int64_t> bucketCount(bucketNll.size(), 0);
  double nllSum = 0;
  int64_t scored = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int64_t from = 0; from < N - 1; from += C) {
    const int64_t n = std::min(C, N - 1 - from); // the last token only scored
    tfc_tensor lg{};
    st = tfc_session_prefill(s, &tokens[from], n, nullptr, &lg);
    if (st != TFC_OK) {
      std::string e = tfc_last_error();
      tfc_session_free(s);
      return fail(o, std::string("--stream: tfc_session_prefill at position ") +
                         std::to_string(from) + " failed (" +
                         tfc_status_string(st) + "): " + e);
    }
    if (lg.rank != 3 || lg.shape[0] != 1 || lg.shape[1] != n) {
      tfc_session_free(s);
      return fail(o, "--stream: the step returned logits for " +
                         std::to_string(lg.rank == 3 ? lg.shape[1] : 0) +
                         " of " + std::to_string(n) +
                         " positions (a model compiled with --kv-logits=last "
                         "returns the last only; perplexity needs all)");
    }
    const int64_t V = lg.shape[2];
    const float *data = static_cast<const float *>(lg.data);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t p = from + j, target = tokens[p + 1];
      if (target >= V) {
        tfc_session_free(s);
        return fail(o, "token id " + std::to_string(target) +
                           " is not below the vocabulary size " +
                           std::to_string(V));
      }
      const double x = nll(data + j * V, V, target);
      nllSum += x;
      ++scored;
      bucketNll[p / bucket] += x;
      ++bucketCount[p / bucket];
    }
  }
  tfc_session_get_info(s, &info);
  tfc_session_free(s);
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  const double meanNll = nllSum / static_cast<double>(scored);
  const double ppl = std::exp(meanNll);
  std::string cache = info.ring
                          ? "ring of " + std::to_string(info.max_len) + " slots"
                          : "linear, max_len " + std::to_string(info.max_len);
  if (o.json) {
    std::string b = "[";
    for (size_t i = 0; i < bucketNll.size(); ++i)
      b += std::string(i ? ", " : "") +
           "{\"from\": " + std::to_string(i * bucket) +
           ", \"tokens\": " + std::to_string(bucketCount[i]) +
           ", \"perplexity\": " +
           std::to_string(std::exp(bucketNll[i] / bucketCount[i])) + "}";
    std::printf("{\"ok\": true, \"tokens_file\": \"%s\", \"streamed\": %lld, "
                "\"chunk\": %lld, \"ring\": %s, \"cache_slots\": %lld, "
                "\"window\": %lld, \"tokens_evaluated\": %lld, "
                "\"mean_nll\": %.17g, \"perplexity\": %.17g, \"buckets\": "
                "%s], \"seconds\": %.3f}\n",
                o.tokens.c_str(), (long long)N, (long long)C,
                info.ring ? "true" : "false", (long long)info.max_len,
                (long long)info.window, (long long)scored, meanNll, ppl,
                b.c_str(), secs);
  } else {
    std::printf("streamed: %lld tokens through one session (%s, window "
                "%lld), %lld per prefill call\n",
                (long long)N, cache.c_str(), (long long)info.window,
                (long long)C);
    std::printf("tokens evaluated: %lld\n", (long long)scored);
    for (size_t i = 0; i < bucketNll.size(); ++i)
      std::printf("  positions %lld-%lld: perplexity %.4f\n",
                  (long long)(i * bucket),
                  (long long)(i * bucket + bucketCount[i] - 1),
                  std::exp(bucketNll[i] / bucketCount[i]));
    std::printf("mean nll: %.10f\n", meanNll);
    std::printf("perplexity: %.10f\n", ppl);
    std::printf("time: %.2f s\n", secs);
  }
  return 0;
}

} // namespace tfcrun
