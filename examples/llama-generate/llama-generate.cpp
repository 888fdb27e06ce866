//===- llama-generate.cpp - text generation with a compiled decoder -------===//
//
//   llama-generate -m out/model.so --tokenizer FILE_OR_DIR [-p PROMPT]
//                  [-n STEPS] [--temp T] [--top-k K] [--top-p P] [--seed S]
//                  [--chat] [--system TEXT] [--echo] [--threads N]
//   llama-generate --tokenizer FILE_OR_DIR --tokenize TEXT
//
// Generated text goes to stdout as tokens come (whole UTF-8 characters only),
// then one '\n' as llama2.c's run prints; statistics go to stderr. Without a
// prompt, generation starts from BOS alone. The loop follows llama2.c's
// generate(): the token after BOS loses its leading space, non-printable
// control bytes are not printed, and generation stops when the model
// produces BOS (or EOS / another control token) or after STEPS tokens.
// See README.md.
//
//===----------------------------------------------------------------------===//

#include "Args.h"
#include "ChatTemplate.h"
#include "Decoder.h"
#include "SessionDecoder.h"
#include "Sampler.h"

#include "tfc/Tokenizer/Decode.h"
#include "tfc/Tokenizer/Loader.h"

#include <chrono>
#include <memory>
#include <cstdio>
#include <ctime>

using namespace llamagen;
using tfc::tokenizer::Status;
using tfc::tokenizer::StreamDecoder;
using tfc::tokenizer::Tokenizer;

namespace {

const char *const kProg = "llama-generate";

int fail(const std::string &message) {
  std::fprintf(stderr, "%s: %s\n", kProg, message.c_str());
  return 1;
}

double nowMs() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch())
      .count();
}

// llama2.c's safe_printf drops bytes that are neither printable nor space.
void printText(const std::string &text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text)
    if (c >= 0x20 ? c != 0x7F : (c >= '\t' && c <= '\r'))
      out += static_cast<char>(c);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
}

bool isStopToken(const Tokenizer &tok, int32_t id) {
  const auto &s = tok.specialTokens();
  return id == s.bos || id == s.eos || (id != s.unk && tok.isSpecialToken(id));
}

} // namespace

int main(int argc, char **argv) {
  Options opt;
  std::string error;
  if (!parseArgs(argc, argv, opt, error)) {
    std::fprintf(stderr, "%s: %s\n%s", kProg, error.c_str(),
                 usage(kProg).c_str());
    return 2;
  }
  if (opt.help) {
    std::printf("%s", usage(kProg).c_str());
    return 0;
  }

  std::unique_ptr<Tokenizer> tok;
  Status st = tfc::tokenizer::loadTokenizer(opt.tokenizer, tok);
  if (!st.ok())
    return fail("loading the tokenizer: " + st.message());

  if (opt.haveTokenize) {
    std::vector<int32_t> ids;
    st = tok->encode(opt.tokenize, ids);
    if (!st.ok())
      return fail(st.message());
    std::string line;
    for (size_t i = 0; i < ids.size(); ++i)
      line += (i ? " " : "") + std::to_string(ids[i]);
    std::printf("%s\n", line.c_str());
    return 0;
  }

  // The prompt's tokens: BOS when the tokenizer's template starts with it
  // (LLaMA / llama2.c), then the text; BOS alone without a prompt.
  std::string text = opt.prompt;
  if (opt.chat) {
    std::string tmpl;
    ChatMl chat;
    if (!findChatTemplate(opt.tokenizer, tmpl, error) ||
        !parseChatMl(tmpl, chat, error))
      return fail(error);
    text = renderChatMl(chat, opt.prompt, opt.haveSystem, opt.system);
  }
  std::vector<int32_t> prompt(tok->templatePrefix());
  if (!text.empty()) {
    std::vector<int32_t> body;
    st = tok->encode(text, body);
    if (!st.ok())
      return fail("tokenizing the prompt: " + st.message());
    prompt.insert(prompt.end(), body.begin(), body.end());
  }
  if (prompt.empty()) {
    int32_t bos = tok->specialTokens().bos;
    if (bos < 0)
      return fail("no prompt and the tokenizer has no BOS token to start "
                  "from; give -p");
    prompt.push_back(bos);
  }

  if (opt.threads > 0)
    tfc_set_num_threads(opt.threads);
  // A model compiled with --kv-cache decodes through a session (one new
  // token per step); any other runs the full sequence every step.
  std::unique_ptr<Decoder> decoder;
  {
    std::string weights = opt.weights;
    if (weights.empty()) {
      weights = opt.model;
      if (weights.size() > 3 && weights.compare(weights.size() - 3, 3, ".so") == 0)
        weights.resize(weights.size() - 3);
      weights += ".tfcw";
    }
    tfc_model *probe = nullptr;
    if (tfc_model_load_shared(opt.model.c_str(), weights.c_str(), &probe) ==
            TFC_OK &&
        SessionDecoder::supports(probe)) {
      auto sd = std::make_unique<SessionDecoder>();
      if (!sd->adopt(probe, 0, error))
        return fail(error);
      decoder = std::move(sd);
    } else {
      if (probe)
        tfc_model_free(probe);
      auto fd = std::make_unique<FullSequenceDecoder>();
      if (!fd->loadShared(opt.model, opt.weights, error))
        return fail(error);
      decoder = std::move(fd);
    }
  }

  SamplerOptions so;
  so.temperature = opt.temperature;
  so.topP = opt.topP;
  so.topK = opt.topK;
  so.seed =
      opt.seed ? opt.seed : static_cast<unsigned long long>(std::time(nullptr));
  Sampler sampler(so);

  // Prompt tokens go through the stream decoder so that the first generated
  // token is decoded in context; they are printed only with --echo.
  StreamDecoder stream(*tok);
  for (int32_t id : prompt) {
    std::string piece = stream.push(id);
    if (opt.echo)
      printText(piece);
  }

  std::vector<float> logits;
  double t0 = nowMs();
  if (!decoder->prefill(prompt, logits, error))
    return fail(error);
  if (tok->vocabSize() > logits.size())
    return fail("the model predicts " + std::to_string(logits.size()) +
                " tokens but the tokenizer has " +
                std::to_string(tok->vocabSize()));
  double tPrefill = nowMs() - t0;
  double tFirst = 0, tDecode = 0;
  int generated = 0, decodeSteps = 0;
  while (generated < opt.steps) {
    int32_t next = sampler.sample(logits);
    if (generated == 0)
      tFirst = nowMs() - t0;
    if (next < 0 || isStopToken(*tok, next))
      break; // not printed, as llama2.c does with BOS
    printText(stream.push(next));
    if (++generated == opt.steps)
      break; // the logits after the last token are not needed
    double t = nowMs();
    if (!decoder->step(next, logits, error))
      return fail(error);
    tDecode += nowMs() - t;
    ++decodeSteps;
  }
  printText(stream.finish());
  printText("\n");

  std::fprintf(stderr,
               "%s: prompt %zu tokens, generated %d tokens\n"
               "  prefill: %.1f ms, %.1f tokens/s\n"
               "  decode:  %d steps in %.1f ms, %.1f tokens/s (%s)\n"
               "  time to first token: %.1f ms\n",
               kProg, prompt.size(), generated, tPrefill,
               tPrefill > 0 ? prompt.size() * 1000.0 / tPrefill : 0.0,
               decodeSteps, tDecode,
               tDecode > 0 ? decodeSteps * 1000.0 / tDecode : 0.0,
               dynamic_cast<SessionDecoder *>(decoder.get())
                   ? "KV-cache session"
                   : "full-sequence model: each step reruns the whole prefix",
               tFirst);
  return 0;
}
