//===- NpzTest.cpp - .npy/.npz reading and writing ------------------------===//

#include "Npz.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>

using namespace tfcrun;

#ifndef NPZ_INPUTS_DIR
#error "NPZ_INPUTS_DIR must name test/Runtime/Inputs"
#endif

namespace {

const std::string kInputs = NPZ_INPUTS_DIR;

/// Element i of every fixture array: (i % 7) - 3 (u1: + 3; bool: i % 3 == 0).
double expected(tfc_dtype dtype, int64_t i) {
  if (dtype == TFC_DTYPE_BOOL)
    return i % 3 == 0 ? 1 : 0;
  double v = static_cast<double>(i % 7) - 3;
  return dtype == TFC_DTYPE_U8 ? v + 3 : v;
}

void checkNumpyFile(const std::string &file) {
  std::map<std::string, NpyArray> m;
  std::string error;
  ASSERT_TRUE(readNpz(kInputs + "/" + file, m, error)) << error;
  const struct {
    const char *key;
    tfc_dtype dtype;
    std::vector<int64_t> shape;
  } want[] = {{"f4", TFC_DTYPE_F32, {2, 3}},    {"f8", TFC_DTYPE_F64, {4}},
              {"i8", TFC_DTYPE_I64, {3, 1, 2}}, {"i4", TFC_DTYPE_I32, {5}},
              {"i1", TFC_DTYPE_I8, {2, 2}},     {"u1", TFC_DTYPE_U8, {3}},
              {"b1", TFC_DTYPE_BOOL, {7}},      {"f2", TFC_DTYPE_F16, {2, 2}}};
  for (const auto &w : want) {
    SCOPED_TRACE(file + ":" + w.key);
    ASSERT_EQ(m.count(w.key), 1u);
    const NpyArray &a = m[w.key];
    EXPECT_EQ(a.dtype(), w.dtype);
    EXPECT_EQ(a.shape(), w.shape);
    for (int64_t i = 0; i < a.numElements(); ++i)
      EXPECT_EQ(a.at(i), expected(w.dtype, i)) << "element " << i;
  }
  ASSERT_EQ(m.count("scalar"), 1u);
  EXPECT_TRUE(m["scalar"].shape().empty());
  EXPECT_EQ(m["scalar"].at(0), 1.5);
  EXPECT_EQ(m["empty"].shape(), (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(m["empty"].numElements(), 0);
}

TEST(Npz, ReadsNumpySavez) { checkNumpyFile("numpy_savez.npz"); }
TEST(Npz, ReadsNumpySavezCompressed) {
  checkNumpyFile("numpy_savez_compressed.npz");
}

TEST(Npz, ReadsNpyVersion2) {
  std::map<std::string, NpyArray> m;
  std::string error;
  ASSERT_TRUE(readNpz(kInputs + "/numpy_v2.npz", m, error)) << error;
  EXPECT_EQ(m["a"].shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(m["a"].at(5), expected(TFC_DTYPE_F32, 5));
}

TEST(Npz, RejectsFortranOrderAndBigEndian) {
  std::map<std::string, NpyArray> m;
  std::string error;
  EXPECT_FALSE(readNpz(kInputs + "/numpy_fortran.npz", m, error));
  EXPECT_NE(error.find("Fortran"), std::string::npos) << error;
  EXPECT_NE(error.find("'a.npy'"), std::string::npos) << error;
  EXPECT_FALSE(readNpz(kInputs + "/numpy_bigendian.npz", m, error));
  EXPECT_NE(error.find(">f4"), std::string::npos) << error;
}

TEST(Npz, RoundTripEveryDtype) {
  std::mt19937 rng(std::random_device{}());
  std::vector<NpyArray> arrays(9);
  const tfc_dtype dtypes[] = {TFC_DTYPE_F32,  TFC_DTYPE_F64, TFC_DTYPE_I64,
                              TFC_DTYPE_I32,  TFC_DTYPE_I8,  TFC_DTYPE_U8,
                              TFC_DTYPE_BOOL, TFC_DTYPE_F16, TFC_DTYPE_F32};
  std::vector<std::pair<std::string, const NpyArray *>> list;
  for (int t = 0; t < 9; ++t) {
    std::vector<int64_t> shape;
    if (t < 8)
      shape = {static_cast<int64_t>(1 + rng() % 5),
               static_cast<int64_t>(1 + rng() % 40)};
    ASSERT_TRUE(arrays[t].allocate(dtypes[t], shape));
    auto *bytes = static_cast<uint8_t *>(arrays[t].data());
    for (size_t i = 0; i < arrays[t].numBytes(); ++i)
      bytes[i] = static_cast<uint8_t>(rng());
    if (dtypes[t] == TFC_DTYPE_BOOL)
      for (size_t i = 0; i < arrays[t].numBytes(); ++i)
        bytes[i] &= 1;
    list.emplace_back("arr" + std::to_string(t), &arrays[t]);
  }
  for (bool compress : {false, true}) {
    std::string path = ::testing::TempDir() + "/roundtrip.npz";
    std::string error;
    ASSERT_TRUE(writeNpz(path, list, compress, error)) << error;
    std::map<std::string, NpyArray> back;
    ASSERT_TRUE(readNpz(path, back, error)) << error;
    ASSERT_EQ(back.size(), arrays.size());
    for (int t = 0; t < 9; ++t) {
      const NpyArray &b = back["arr" + std::to_string(t)];
      EXPECT_EQ(b.dtype(), arrays[t].dtype());
      EXPECT_EQ(b.shape(), arrays[t].shape());
      ASSERT_EQ(b.numBytes(), arrays[t].numBytes());
      EXPECT_EQ(std::memcmp(b.data(), arrays[t].data(), b.numBytes()), 0);
    }
    std::remove(path.c_str());
  }
}

TEST(Npz, CorruptArchivesGiveMessages) {
  NpyArray a;
  ASSERT_TRUE(a.allocate(TFC_DTYPE_F32, {100}));
  for (int i = 0; i < 100; ++i)
    static_cast<float *>(a.data())[i] = 1.0f + i;
  std::string path = ::testing::TempDir() + "/corrupt.npz", error;
  ASSERT_TRUE(writeNpz(path, {{"a", &a}}, false, error));
  std::vector<char> bytes;
  {
    std::ifstream f(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(f), {});
  }
  auto readBack = [&](const std::vector<char> &b) {
    std::ofstream(path, std::ios::binary).write(b.data(), b.size());
    std::map<std::string, NpyArray> m;
    bool ok = readNpz(path, m, error);
    return ok;
  };
  std::vector<char> flipped = bytes;
  flipped[200] ^= 1; // inside the array data
  EXPECT_FALSE(readBack(flipped));
  EXPECT_NE(error.find("CRC"), std::string::npos) << error;
  std::vector<char> cut(bytes.begin(), bytes.begin() + bytes.size() / 2);
  EXPECT_FALSE(readBack(cut));
  EXPECT_NE(error.find(path), std::string::npos) << error;
  EXPECT_FALSE(readBack(std::vector<char>{'P', 'K'}));
  std::map<std::string, NpyArray> m;
  EXPECT_FALSE(readNpz(path + ".missing", m, error));
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
  std::remove(path.c_str());
}

TEST(Npz, HalfConversion) {
  for (float f : {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 6.1035156e-05f,
                  5.9604645e-08f, 0.333251953125f}) {
    EXPECT_EQ(halfToFloat(floatToHalf(f)), f) << f;
  }
  EXPECT_TRUE(std::isinf(halfToFloat(floatToHalf(1e6f))));
  EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(NAN))));
}

} // namespace
