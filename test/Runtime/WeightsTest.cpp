//===- WeightsTest.cpp - .tfcw validation through tfc_model_load ----------===//

#include "TfcwWriter.h"
#include "WeightsFile.h"
#include "tfc/Runtime/tfc_runtime.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <unistd.h>

using namespace tfctest;

namespace {

void nopEntry(void *, void *) {}

class WeightsTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = ::testing::TempDir();
    std::mt19937 rng(std::random_device{}());
    data.resize(1000); // not a multiple of 8: exercises the hash tail
    for (auto &b : data)
      b = static_cast<uint8_t>(rng() | 1);
    file = makeTfcw({{"a", 0, 300, TFC_DTYPE_U8, {300}},
                     {"b", 320, 680, TFC_DTYPE_U8, {20, 34}}},
                    data);
    desc.abi_version = TFC_ABI_VERSION;
    desc.num_inputs = 0;
    desc.num_outputs = 0;
    desc.name = "weights_test";
    desc.signature = "";
    desc.entry = reinterpret_cast<void *>(&nopEntry);
    desc.weights_size = data.size();
    desc.weights_hash = tfc_hash64(data.data(), data.size());
    desc.op_classes = "";
  }

  /// Writes `bytes` and loads it; returns the status, `message` the error.
  tfc_status load(const std::vector<uint8_t> &bytes, std::string &message) {
    std::string path = dir + "/w_" + std::to_string(getpid()) + ".tfcw";
    EXPECT_TRUE(writeBytes(path, bytes));
    tfc_model *m = nullptr;
    tfc_status s = tfc_model_load(&desc, path.c_str(), &m);
    message = tfc_last_error();
    if (s == TFC_OK) {
      EXPECT_NE(m, nullptr);
      tfc_model_free(m);
    } else {
      EXPECT_EQ(m, nullptr);
      EXPECT_NE(message.find(path), std::string::npos)
          << "message should name the file: " << message;
    }
    std::remove(path.c_str());
    return s;
  }

  std::string dir;
  std::vector<uint8_t> data, file;
  tfc_model_desc desc{};
};

TEST_F(WeightsTest, ValidFileLoadsAndMapsTheData) {
  std::string path = dir + "/valid.tfcw";
  ASSERT_TRUE(writeBytes(path, file));
  tfcrt::WeightsFile w;
  std::string error;
  ASSERT_EQ(w.open(path, true, desc.weights_size, desc.weights_hash, error),
            TFC_OK)
      << error;
  EXPECT_EQ(w.dataSize(), data.size());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(w.data()) % 64, 0u);
  EXPECT_EQ(std::memcmp(w.data(), data.data(), data.size()), 0);
  ASSERT_EQ(w.entries().size(), 2u);
  EXPECT_EQ(w.entries()[1].name, "b");
  EXPECT_EQ(w.entries()[1].offset, 320u);
  EXPECT_EQ(w.entries()[1].dims, (std::vector<int64_t>{20, 34}));
  std::string msg;
  EXPECT_EQ(load(file, msg), TFC_OK) << msg;
  std::remove(path.c_str());
}

TEST_F(WeightsTest, TruncatedFile) {
  std::string msg;
  std::vector<uint8_t> cut(file.begin(), file.end() - 1);
  EXPECT_EQ(load(cut, msg), TFC_ERR_CORRUPT);
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
  std::vector<uint8_t> tiny(file.begin(), file.begin() + 20);
  EXPECT_EQ(load(tiny, msg), TFC_ERR_CORRUPT);
  EXPECT_NE(msg.find("truncated"), std::string::npos) << msg;
}

TEST_F(WeightsTest, BadMagic) {
  std::string msg;
  std::vector<uint8_t> bad = file;
  bad[3] ^= 0x20;
  EXPECT_EQ(load(bad, msg), TFC_ERR_CORRUPT);
  EXPECT_NE(msg.find("magic"), std::string::npos) << msg;
}

TEST_F(WeightsTest, FlippedDataByteFailsTheHash) {
  std::mt19937 rng(std::random_device{}());
  for (int t = 0; t < 8; ++t) {
    std::vector<uint8_t> bad = file;
    size_t at = file.size() - data.size() + rng() % data.size();
    bad[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
    std::string msg;
    EXPECT_EQ(load(bad, msg), TFC_ERR_CORRUPT) << "flipped byte " << at;
    EXPECT_NE(msg.find("hash"), std::string::npos) << msg;
  }
}

TEST_F(WeightsTest, BadHeaderFields) {
  std::string msg;
  std::vector<uint8_t> bad = file;
  bad[8] = 41; // header size not a multiple of 64
  EXPECT_EQ(load(bad, msg), TFC_ERR_CORRUPT);
  bad = file;
  bad[16] ^= 1; // data size disagrees with the file size
  EXPECT_EQ(load(bad, msg), TFC_ERR_CORRUPT);
  bad = file;
  bad[40 + 8] = 0xFF; // entry 'a' nbytes: outside the data section
  bad[40 + 9] = 0xFF;
  EXPECT_EQ(load(bad, msg), TFC_ERR_CORRUPT);
  EXPECT_NE(msg.find("entry"), std::string::npos) << msg;
}

TEST_F(WeightsTest, WeightsOfAnotherModel) {
  std::string msg;
  desc.weights_hash ^= 1;
  EXPECT_EQ(load(file, msg), TFC_ERR_CORRUPT);
  EXPECT_NE(msg.find("another model"), std::string::npos) << msg;
  desc.weights_hash ^= 1;
  desc.weights_size += 64;
  EXPECT_EQ(load(file, msg), TFC_ERR_CORRUPT);
  EXPECT_NE(msg.find("compiled for"), std::string::npos) << msg;
}

TEST_F(WeightsTest, MissingFileAndNullPath) {
  tfc_model *m = nullptr;
  EXPECT_EQ(tfc_model_load(&desc, (dir + "/does_not_exist.tfcw").c_str(), &m),
            TFC_ERR_IO);
  EXPECT_NE(std::string(tfc_last_error()).find("does_not_exist"),
            std::string::npos);
  EXPECT_EQ(tfc_model_load(&desc, nullptr, &m), TFC_ERR_INVALID_ARGUMENT);
  desc.weights_size = 0;
  desc.weights_hash = tfc_hash64(nullptr, 0);
  ASSERT_EQ(tfc_model_load(&desc, nullptr, &m), TFC_OK) << tfc_last_error();
  tfc_model_free(m);
}

TEST_F(WeightsTest, AbiVersionAndSignatureAreChecked) {
  tfc_model *m = nullptr;
  desc.weights_size = 0;
  desc.abi_version = 2;
  EXPECT_EQ(tfc_model_load(&desc, nullptr, &m), TFC_ERR_UNSUPPORTED);
  desc.abi_version = TFC_ABI_VERSION;
  desc.num_inputs = 1;
  desc.signature = "in x f33 1 4\n";
  EXPECT_EQ(tfc_model_load(&desc, nullptr, &m), TFC_ERR_CORRUPT);
  EXPECT_NE(std::string(tfc_last_error()).find("f33"), std::string::npos);
  desc.signature = "in x f32 2 4\n"; // one dim missing
  EXPECT_EQ(tfc_model_load(&desc, nullptr, &m), TFC_ERR_CORRUPT);
  desc.signature = "in x f32 1 4\nin y f32 1 4\n"; // count mismatch
  EXPECT_EQ(tfc_model_load(&desc, nullptr, &m), TFC_ERR_CORRUPT);
  EXPECT_EQ(m, nullptr);
}

} // namespace
