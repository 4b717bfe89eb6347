//===- Numeric.h - Reduced-precision rounding helpers -----------*- C++ -*-===//
//
// Emulates storing a float in bf16 or f16 and reading it back, so that the
// float64 reference can see exactly the inputs a bf16/f16 kernel sees.
// Header-only: the functions are tiny and used from hot loops in tests.
//
//===----------------------------------------------------------------------===//
#ifndef GDN_NUMERIC_H
#define GDN_NUMERIC_H

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

namespace gdn {

enum class ElementType { F32, BF16, F16 };

namespace detail {
inline uint32_t floatBits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}
inline float bitsToFloat(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}
} // namespace detail

/// Rounds to the nearest bf16 value (ties to even) and returns it as a float.
/// bf16 shares f32's exponent range, so only the low 16 mantissa bits go; a
/// carry out of the mantissa correctly bumps the exponent (up to inf).
inline float roundToBf16(float x) {
  uint32_t u = detail::floatBits(x);
  if (std::isnan(x)) // keep sign, force a quiet payload that survives truncation
    return detail::bitsToFloat((u | 0x00400000u) & 0xFFFF0000u);
  u += 0x7FFFu + ((u >> 16) & 1u);
  return detail::bitsToFloat(u & 0xFFFF0000u);
}

/// Rounds to the nearest IEEE binary16 value (ties to even) and returns it as
/// a float. Magnitudes >= 65520 (half-way between 65504 and 2^16) become inf;
/// values below 2^-14 land on the subnormal grid of step 2^-24.
inline float roundToF16(float x) {
  if (std::isnan(x) || std::isinf(x))
    return x;
  float a = std::fabs(x);
  if (a >= 65520.0f)
    return std::copysign(std::numeric_limits<float>::infinity(), x);
  if (a >= 0x1p-14f) {
    // Normal f16: drop 13 of f32's 23 mantissa bits with round-to-nearest-even.
    uint32_t u = detail::floatBits(a);
    u += 0x0FFFu + ((u >> 13) & 1u);
    return std::copysign(detail::bitsToFloat(u & ~0x1FFFu), x);
  }
  // Subnormal f16: count quanta of 2^-24. The scaling is exact and s < 1024,
  // so the fractional part below is exact too.
  float s = a * 0x1p24f;
  float whole = std::floor(s);
  float frac = s - whole;
  if (frac > 0.5f || (frac == 0.5f && std::fmod(whole, 2.0f) == 1.0f))
    whole += 1.0f;
  return std::copysign(whole * 0x1p-24f, x);
}

inline float roundTo(ElementType type, float x) {
  switch (type) {
  case ElementType::F32:
    return x;
  case ElementType::BF16:
    return roundToBf16(x);
  case ElementType::F16:
    return roundToF16(x);
  }
  return x;
}

/// Bit patterns of bf16 and f16 values, for buffers handed to kernels. `to*Bits` round
/// first (ties to even), so any float is accepted.
inline uint16_t toBf16Bits(float x) {
  return static_cast<uint16_t>(detail::floatBits(roundToBf16(x)) >> 16);
}

inline float fromBf16Bits(uint16_t bits) {
  return detail::bitsToFloat(static_cast<uint32_t>(bits) << 16);
}

inline uint16_t toF16Bits(float x) {
  float r = roundToF16(x);
  uint16_t sign = std::signbit(r) ? 0x8000u : 0u;
  float a = std::fabs(r);
  if (std::isnan(r))
    return sign | 0x7E00u;
  if (std::isinf(r))
    return sign | 0x7C00u;
  if (a >= 0x1p-14f) {
    uint32_t u = detail::floatBits(a);
    uint32_t exponent = ((u >> 23) & 0xFFu) - 127u + 15u;
    return static_cast<uint16_t>(sign | (exponent << 10) | ((u >> 13) & 0x3FFu));
  }
  // Subnormal: r is an exact multiple of 2^-24 below 2^-14.
  return static_cast<uint16_t>(sign | static_cast<uint16_t>(a * 0x1p24f));
}

inline float fromF16Bits(uint16_t bits) {
  float sign = (bits & 0x8000u) ? -1.0f : 1.0f;
  uint32_t exponent = (bits >> 10) & 0x1Fu, mantissa = bits & 0x3FFu;
  if (exponent == 0)
    return sign * static_cast<float>(mantissa) * 0x1p-24f;
  if (exponent == 31)
    return mantissa ? std::numeric_limits<float>::quiet_NaN()
                    : sign * std::numeric_limits<float>::infinity();
  return sign * std::ldexp(1.0f + static_cast<float>(mantissa) * 0x1p-10f,
                           static_cast<int>(exponent) - 15);
}

inline const char *toString(ElementType type) {
  switch (type) {
  case ElementType::F32:
    return "f32";
  case ElementType::BF16:
    return "bf16";
  case ElementType::F16:
    return "f16";
  }
  return "unknown";
}

} // namespace gdn

#endif // GDN_NUMERIC_H
