//===- Npy.h - Minimal NumPy .npy reader/writer -----------------*- C++ -*-===//
//
// Enough of the .npy format to exchange test tensors with Python: reads
// format versions 1.0, 2.0 and 3.0, writes 1.0 (2.0 if the header would not
// fit), C order only, little-endian f4/f8/i4/i8 only.
//
//===----------------------------------------------------------------------===//
#ifndef GDN_NPY_H
#define GDN_NPY_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gdn {

struct NpyArray {
  std::string dtype;               // "f4", "f8", "i4" or "i8" (little-endian)
  std::vector<int64_t> shape;      // empty for a 0-d array (one element)
  std::vector<unsigned char> data; // numel() * itemsize bytes, C order
  size_t numel() const;
};

/// Bytes per element of a supported dtype, 0 for anything else.
size_t npyItemSize(const std::string &dtype);

/// On failure returns false and sets `error` to "<path>: <what is wrong>".
bool readNpy(const std::string &path, NpyArray &out, std::string &error);
/// The same from the file's bytes (`error` without the path).
bool parseNpy(const std::vector<unsigned char> &bytes, NpyArray &out, std::string &error);
bool writeNpy(const std::string &path, const NpyArray &a, std::string &error);

/// Builders; throw std::invalid_argument if values.size() != product(shape).
NpyArray makeNpyF32(std::vector<int64_t> shape, const std::vector<float> &values);
NpyArray makeNpyF32(std::vector<int64_t> shape,
                    const std::vector<double> &values); // narrowed to f4
NpyArray makeNpyF64(std::vector<int64_t> shape, const std::vector<double> &values);
NpyArray makeNpyI64(std::vector<int64_t> shape, const std::vector<int64_t> &values);

/// Element conversions; false with a message on a dtype that does not fit.
bool toFloatVector(const NpyArray &a, std::vector<float> &out,
                   std::string &error); // f4, f8 -> float
bool toDoubleVector(const NpyArray &a, std::vector<double> &out,
                    std::string &error); // f4, f8 -> double
bool toInt64Vector(const NpyArray &a, std::vector<int64_t> &out,
                   std::string &error); // i4, i8 -> int64

} // namespace gdn

#endif // GDN_NPY_H
