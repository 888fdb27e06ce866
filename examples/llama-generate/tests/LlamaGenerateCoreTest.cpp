//===- LlamaGenerateCoreTest.cpp - sampler, arguments, chat template ------===//

#include "Args.h"
#include "ChatTemplate.h"
#include "Sampler.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace llamagen;

TEST(Sampler, XorshiftMatchesLlama2c) {
  // Values of run.c's random_u32 / random_f32 from seed 133742 (computed
  // with the same recurrence in Python).
  Rng rng(133742);
  EXPECT_EQ(rng.nextU32(), 3033531262u);
  EXPECT_EQ(rng.nextU32(), 2674377904u);
  Rng f(133742);
  EXPECT_FLOAT_EQ(f.nextF32(), 0.7062990069389343f);
}

TEST(Sampler, GreedyTakesTheFirstMaximum) {
  SamplerOptions o;
  o.temperature = 0;
  Sampler s(o);
  std::vector<float> logits = {0.5f, 2.0f, 2.0f, -1.0f};
  EXPECT_EQ(s.sample(logits), 1);
}

TEST(Sampler, TopPFollowsLlama2c) {
  // Probabilities after softmax: 0.5, 0.3, 0.15, 0.05 (logits = log p).
  std::vector<float> base = {std::log(0.05f), std::log(0.5f), std::log(0.15f),
                             std::log(0.3f)};
  SamplerOptions o;
  o.temperature = 1.0f;
  o.topP = 0.7f;
  o.seed = 133742; // first coin 0.7063
  // Candidates sorted: 1 (0.5), 3 (0.3): cumulative 0.8 > 0.7 stops there;
  // r = 0.7063 * 0.8 = 0.565 falls in the second: token 3.
  Sampler s(o);
  std::vector<float> l = base;
  EXPECT_EQ(s.sample(l), 3);
  // Without top-p: sample_mult over ids in order: cdf 0.05, 0.55, 0.70,
  // 1.0; coin 0.7063 -> token 3 as well; the second coin (0.6227) -> 2.
  o.topP = 0;
  Sampler m(o);
  l = base;
  EXPECT_EQ(m.sample(l), 3);
  l = base;
  EXPECT_EQ(m.sample(l), 2);
}

TEST(Sampler, TopKKeepsTheLargest) {
  SamplerOptions o;
  o.temperature = 1.0f;
  o.topP = 0;
  o.topK = 1;
  o.seed = 1;
  Sampler s(o);
  for (int i = 0; i < 5; ++i) {
    std::vector<float> l = {0.1f, 0.3f, 0.2f};
    EXPECT_EQ(s.sample(l), 1);
  }
}

TEST(Args, Parse) {
  Options o;
  std::string err;
  const char *a1[] = {"g",  "-m", "out/m.so", "--tokenizer", "t.bin",
                      "-n", "16", "--temp",   "0",           "--seed",
                      "7",  "-p", "Hi"};
  ASSERT_TRUE(parseArgs(13, a1, o, err)) << err;
  EXPECT_EQ(o.weights, "out/m.tfcw");
  EXPECT_EQ(o.steps, 16);
  EXPECT_EQ(o.temperature, 0.0f);
  EXPECT_EQ(o.seed, 7u);
  EXPECT_EQ(o.prompt, "Hi");
  const char *a2[] = {"g", "--tokenizer", "t.bin", "--tokenize", "a b"};
  ASSERT_TRUE(parseArgs(5, a2, o, err)) << err;
  EXPECT_TRUE(o.haveTokenize);
  const char *a3[] = {"g", "--tokenizer", "t.bin"};
  EXPECT_FALSE(parseArgs(3, a3, o, err));
  EXPECT_NE(err.find("-m"), std::string::npos);
  const char *a4[] = {"g", "-m", "x.so", "--tokenizer", "t", "--top-p", "2"};
  EXPECT_FALSE(parseArgs(7, a4, o, err));
  const char *a5[] = {"g", "-m", "x.so", "--tokenizer", "t", "--chat"};
  EXPECT_FALSE(parseArgs(6, a5, o, err));
  EXPECT_EQ(defaultWeightsPath("a.b/model"), "a.b/model.tfcw");
}

TEST(ChatTemplate, SmolLM2) {
  // SmolLM2-135M-Instruct's tokenizer.chat_template.
  const std::string t =
      "{% for message in messages %}{% if loop.first and "
      "messages[0]['role'] != 'system' %}{{ '<|im_start|>system\n"
      "You are a helpful AI assistant named SmolLM, trained by Hugging "
      "Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + "
      "'\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if "
      "add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";
  ChatMl chat;
  std::string err;
  ASSERT_TRUE(parseChatMl(t, chat, err)) << err;
  EXPECT_EQ(chat.defaultSystem,
            "You are a helpful AI assistant named SmolLM, trained by Hugging "
            "Face");
  EXPECT_EQ(renderChatMl(chat, "Hi!", false, ""),
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, "
            "trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi!"
            "<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(renderChatMl(chat, "Hi!", true, "Be brief."),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!"
            "<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_FALSE(
      parseChatMl("{{ bos_token }}[INST] {{ message }} [/INST]", chat, err));
  EXPECT_NE(err.find("ChatML"), std::string::npos);
}
