//===- NpyTest.cpp - .npy reader/writer -----------------------------------===//

#include "gdn/Npy.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

using namespace gdn;

namespace {

std::string tempPath(const std::string &name) {
  return testing::TempDir() + "gdn_npy_" + std::to_string(::getpid()) + "_" + name + ".npy";
}

std::vector<unsigned char> readBytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void writeBytes(const std::string &path, const std::string &bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

/// A hand-assembled .npy file: magic, version, little-endian header length
/// (2 bytes for 1.0, 4 for 2.0/3.0), header padded to 64 bytes, data.
std::string handMade(int major, std::string header, const std::string &data) {
  size_t prefix = major == 1 ? 10 : 12;
  while ((prefix + header.size() + 1) % 64 != 0)
    header.push_back(' ');
  header.push_back('\n');
  std::string out = "\x93NUMPY";
  out.push_back(static_cast<char>(major));
  out.push_back(0);
  for (size_t b = 0; b < prefix - 8; ++b)
    out.push_back(static_cast<char>((header.size() >> (8 * b)) & 0xFF));
  return out + header + data;
}

template <typename T> std::string rawBytes(const std::vector<T> &values) {
  return std::string(reinterpret_cast<const char *>(values.data()), values.size() * sizeof(T));
}

/// Reads `path` expecting failure; returns the message.
std::string readError(const std::string &path) {
  NpyArray a;
  std::string error;
  EXPECT_FALSE(readNpy(path, a, error));
  EXPECT_EQ(error.rfind(path + ": ", 0), 0u) << "error must name the file: " << error;
  return error;
}

bool contains(const std::string &s, const std::string &part) {
  return s.find(part) != std::string::npos;
}

void expectRoundTrip(const NpyArray &a, const std::string &name) {
  SCOPED_TRACE(name);
  std::string path = tempPath(name), error;
  ASSERT_TRUE(writeNpy(path, a, error)) << error;
  NpyArray b;
  ASSERT_TRUE(readNpy(path, b, error)) << error;
  EXPECT_EQ(b.dtype, a.dtype);
  EXPECT_EQ(b.shape, a.shape);
  EXPECT_EQ(b.data, a.data);
  EXPECT_EQ(b.numel(), a.numel());
  std::remove(path.c_str());
}

TEST(Npy, RoundTripEachDtypeAndShape) {
  const std::vector<std::vector<int64_t>> shapes = {{2, 3}, {}, {0}, {3, 0, 2}, {5}, {1, 1, 1, 7}};
  for (const std::vector<int64_t> &shape : shapes) {
    size_t n = 1;
    for (int64_t d : shape)
      n *= size_t(d);
    std::vector<float> f(n);
    std::vector<double> d(n);
    std::vector<int64_t> l(n);
    std::vector<int32_t> i(n);
    for (size_t x = 0; x < n; ++x) {
      f[x] = 0.25f * float(x) - 1.5f;
      d[x] = 1.0 / 3.0 * double(x) - 7.0;
      l[x] = int64_t(x) * 10000000000ll - 3;
      i[x] = -int32_t(x) * 1000;
    }
    std::string tag = "shape" + std::to_string(shape.size()) + "_" + std::to_string(n);
    expectRoundTrip(makeNpyF32(shape, f), "f4_" + tag);
    expectRoundTrip(makeNpyF64(shape, d), "f8_" + tag);
    expectRoundTrip(makeNpyI64(shape, l), "i8_" + tag);
    NpyArray a;
    a.dtype = "i4";
    a.shape = shape;
    a.data.resize(n * 4);
    if (n)
      std::memcpy(a.data.data(), i.data(), n * 4);
    expectRoundTrip(a, "i4_" + tag);

    std::vector<float> backF;
    std::vector<double> backD;
    std::vector<int64_t> backL;
    std::string error;
    ASSERT_TRUE(toFloatVector(makeNpyF32(shape, f), backF, error)) << error;
    EXPECT_EQ(backF, f);
    ASSERT_TRUE(toDoubleVector(makeNpyF64(shape, d), backD, error)) << error;
    EXPECT_EQ(backD, d);
    ASSERT_TRUE(toInt64Vector(a, backL, error)) << error;
    EXPECT_EQ(backL, std::vector<int64_t>(i.begin(), i.end()));
  }
}

TEST(Npy, ZeroDimIsOneElement) {
  NpyArray a = makeNpyF64({}, {2.5});
  EXPECT_EQ(a.numel(), 1u);
  EXPECT_EQ(makeNpyF32({4, 0}, std::vector<float>{}).numel(), 0u);
}

TEST(Npy, WritesNumpyLayout) {
  // np.save of a (2, 3) float32 array: 10-byte prefix, dict, spaces and a
  // newline up to byte 128, then 24 bytes of data.
  std::string path = tempPath("layout"), error;
  ASSERT_TRUE(writeNpy(path, makeNpyF32({2, 3}, std::vector<float>(6, 1.0f)), error)) << error;
  std::vector<unsigned char> bytes = readBytes(path);
  ASSERT_EQ(bytes.size(), 128u + 24u);
  EXPECT_EQ(std::string(bytes.begin(), bytes.begin() + 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(bytes[8] | (bytes[9] << 8), 118);
  std::string header(bytes.begin() + 10, bytes.begin() + 128);
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  EXPECT_EQ(header, dict + std::string(118 - dict.size() - 1, ' ') + "\n");

  // 1-d shapes need the tuple comma; 0-d shapes are an empty tuple.
  ASSERT_TRUE(writeNpy(path, makeNpyI64({5}, std::vector<int64_t>(5, 1)), error));
  bytes = readBytes(path);
  ASSERT_EQ(bytes.size(), 128u + 40u);
  EXPECT_TRUE(contains(std::string(bytes.begin(), bytes.begin() + 128),
                       "{'descr': '<i8', 'fortran_order': False, 'shape': (5,), }"));
  ASSERT_TRUE(writeNpy(path, makeNpyF64({}, {1.0}), error));
  bytes = readBytes(path);
  ASSERT_EQ(bytes.size(), 128u + 8u);
  EXPECT_TRUE(contains(std::string(bytes.begin(), bytes.begin() + 128), "'shape': (), }"));
  std::remove(path.c_str());
}

TEST(Npy, ReadsVersion2And3Headers) {
  std::vector<int64_t> values = {7, -8, 9};
  std::string path = tempPath("v2"), error;
  writeBytes(path, handMade(2,
                            "{'descr': '<i8', 'fortran_order': False, "
                            "'shape': (3,), }",
                            rawBytes(values)));
  NpyArray a;
  ASSERT_TRUE(readNpy(path, a, error)) << error;
  EXPECT_EQ(a.dtype, "i8");
  EXPECT_EQ(a.shape, std::vector<int64_t>{3});
  std::vector<int64_t> back;
  ASSERT_TRUE(toInt64Vector(a, back, error));
  EXPECT_EQ(back, values);

  // Version 3.0, double quotes, other key order, no trailing comma, Python 2
  // long suffix: all things numpy's own reader accepts.
  std::vector<double> d = {1.5, -2.25};
  writeBytes(path, handMade(3,
                            "{\"shape\": (1L, 2L), \"fortran_order\": False,"
                            " \"descr\": \"<f8\"}",
                            rawBytes(d)));
  ASSERT_TRUE(readNpy(path, a, error)) << error;
  EXPECT_EQ(a.dtype, "f8");
  EXPECT_EQ(a.shape, (std::vector<int64_t>{1, 2}));
  std::vector<float> f;
  ASSERT_TRUE(toFloatVector(a, f, error));
  EXPECT_EQ(f, (std::vector<float>{1.5f, -2.25f}));
  std::remove(path.c_str());
}

TEST(Npy, AcceptsNativeAndNotApplicableByteOrders) {
  std::string path = tempPath("order"), error;
  std::vector<int32_t> i = {1, -2};
  for (const char *descr : {"=i4", "|i4"}) {
    writeBytes(path, handMade(1,
                              std::string("{'descr': '") + descr +
                                  "', 'fortran_order': False, 'shape': (2,), }",
                              rawBytes(i)));
    NpyArray a;
    ASSERT_TRUE(readNpy(path, a, error)) << descr << ": " << error;
    EXPECT_EQ(a.dtype, "i4");
  }
  std::remove(path.c_str());
}

TEST(Npy, MissingFile) {
  std::string path = tempPath("does_not_exist");
  std::remove(path.c_str());
  EXPECT_TRUE(contains(readError(path), "cannot open file"));
}

TEST(Npy, TruncatedData) {
  std::string path = tempPath("truncated"), error;
  ASSERT_TRUE(writeNpy(path, makeNpyF32({2, 3}, std::vector<float>(6, 1.0f)), error));
  std::vector<unsigned char> bytes = readBytes(path);
  writeBytes(path, std::string(bytes.begin(), bytes.end() - 4));
  EXPECT_TRUE(contains(readError(path), "truncated data: expected 24 bytes, found 20"));
  // Cut inside the header too.
  writeBytes(path, std::string(bytes.begin(), bytes.begin() + 50));
  EXPECT_TRUE(contains(readError(path), "truncated header"));
  std::remove(path.c_str());
}

TEST(Npy, TrailingData) {
  std::string path = tempPath("trailing");
  writeBytes(path, handMade(1,
                            "{'descr': '<f4', 'fortran_order': False, "
                            "'shape': (1,), }",
                            std::string(8, '\0')));
  EXPECT_TRUE(contains(readError(path), "trailing data: expected 4 bytes, found 8"));
  std::remove(path.c_str());
}

TEST(Npy, BadMagic) {
  std::string path = tempPath("magic");
  writeBytes(path, "PK\x03\x04 this is a zip, not an npy file");
  EXPECT_TRUE(contains(readError(path), "bad magic"));
  writeBytes(path, "");
  EXPECT_TRUE(contains(readError(path), "bad magic"));
  std::remove(path.c_str());
}

TEST(Npy, UnsupportedVersion) {
  std::string path = tempPath("version");
  writeBytes(path, handMade(1,
                            "{'descr': '<f4', 'fortran_order': False, "
                            "'shape': (0,), }",
                            ""));
  std::vector<unsigned char> bytes = readBytes(path);
  bytes[6] = 4;
  writeBytes(path, std::string(bytes.begin(), bytes.end()));
  EXPECT_TRUE(contains(readError(path), "unsupported .npy format version 4.0"));
  std::remove(path.c_str());
}

TEST(Npy, FortranOrder) {
  std::string path = tempPath("fortran");
  writeBytes(path, handMade(1,
                            "{'descr': '<f4', 'fortran_order': True, "
                            "'shape': (2, 2), }",
                            std::string(16, '\0')));
  EXPECT_TRUE(contains(readError(path), "fortran_order is True"));
  std::remove(path.c_str());
}

TEST(Npy, UnsupportedDtypes) {
  std::string path = tempPath("dtype");
  for (const char *descr : {"<f2", ">f4", "<u1", "<c8"}) {
    writeBytes(path, handMade(1,
                              std::string("{'descr': '") + descr +
                                  "', 'fortran_order': False, 'shape': (1,), }",
                              std::string(8, '\0')));
    std::string error = readError(path);
    EXPECT_TRUE(contains(error, std::string("unsupported dtype '") + descr + "'")) << error;
  }
  // Structured dtypes come as a list, not a string.
  writeBytes(path, handMade(1,
                            "{'descr': [('a', '<f4')], 'fortran_order': "
                            "False, 'shape': (1,), }",
                            std::string(4, '\0')));
  EXPECT_TRUE(contains(readError(path), "structured dtypes are not supported"));
  std::remove(path.c_str());
}

TEST(Npy, UnparsableHeaders) {
  std::string path = tempPath("header");
  const char *headers[] = {
      "not a dict",
      "{'descr': '<f4', 'fortran_order': False}", // no shape
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1), }",
      "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }",
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}",
      "{'descr': '<f4' 'fortran_order': False, 'shape': (2,), }",
  };
  for (const char *header : headers) {
    writeBytes(path, handMade(1, header, std::string(8, '\0')));
    std::string error = readError(path);
    EXPECT_TRUE(contains(error, "unparsable header")) << header << " -> " << error;
  }
  std::remove(path.c_str());
}

TEST(Npy, ConversionErrors) {
  std::string error;
  std::vector<float> f;
  std::vector<int64_t> l;
  EXPECT_FALSE(toFloatVector(makeNpyI64({1}, {1}), f, error));
  EXPECT_TRUE(contains(error, "got dtype 'i8'")) << error;
  EXPECT_FALSE(toInt64Vector(makeNpyF32({1}, std::vector<float>{1.0f}), l, error));
  EXPECT_TRUE(contains(error, "got dtype 'f4'")) << error;
  NpyArray broken = makeNpyF32({2}, std::vector<float>{1.0f, 2.0f});
  broken.data.pop_back();
  EXPECT_FALSE(toFloatVector(broken, f, error));
  // f8 narrows to float with rounding.
  ASSERT_TRUE(toFloatVector(makeNpyF64({1}, {0.1}), f, error));
  EXPECT_EQ(f[0], 0.1f);
  // The double overload of makeNpyF32 narrows too.
  NpyArray narrowed = makeNpyF32({1}, std::vector<double>{0.1});
  EXPECT_EQ(narrowed.dtype, "f4");
  ASSERT_TRUE(toFloatVector(narrowed, f, error));
  EXPECT_EQ(f[0], 0.1f);
}

TEST(Npy, BuilderAndWriterErrors) {
  EXPECT_THROW(makeNpyF32({2, 2}, std::vector<float>(3)), std::invalid_argument);
  EXPECT_THROW(makeNpyI64({-1}, {}), std::invalid_argument);
  std::string path = tempPath("write_errors"), error;
  NpyArray a = makeNpyF32({2}, std::vector<float>{1, 2});
  a.dtype = "f2";
  EXPECT_FALSE(writeNpy(path, a, error));
  EXPECT_TRUE(contains(error, path) && contains(error, "'f2'")) << error;
  a.dtype = "f4";
  a.data.pop_back();
  EXPECT_FALSE(writeNpy(path, a, error));
  EXPECT_TRUE(contains(error, path)) << error;
  std::string dirPath = testing::TempDir() + "no_such_dir_gdn/x.npy";
  EXPECT_FALSE(writeNpy(dirPath, makeNpyF32({1}, std::vector<float>{1}), error));
  EXPECT_TRUE(contains(error, dirPath) && contains(error, "cannot open")) << error;
}

} // namespace
