//===- Npy.cpp - Minimal NumPy .npy reader/writer -------------------------===//

#include "gdn/Npy.h"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <locale>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace gdn {

// Array bytes are copied verbatim, so '<' dtypes need a little-endian host.
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "Npy.cpp assumes a little-endian host");
#endif

namespace {
const char kMagic[] = "\x93NUMPY";
constexpr size_t kMagicLen = 6;

/// Product of the dims; false on a negative dim or size_t overflow.
bool elementCount(const std::vector<int64_t> &shape, size_t &count) {
  count = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return false;
    if (d != 0 && count > std::numeric_limits<size_t>::max() / size_t(d))
      return false;
    count *= size_t(d);
  }
  return true;
}

/// Parses the header's Python dict literal, e.g.
///   {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
class HeaderParser {
public:
  explicit HeaderParser(const std::string &text) : s(text) {}

  /// Fills descr / fortranOrder / shape, or returns a message.
  std::string parse() {
    bool seenDescr = false, seenOrder = false, seenShape = false;
    skipSpace();
    if (!eat('{'))
      return "header is not a dict";
    for (;;) {
      skipSpace();
      if (eat('}'))
        break;
      std::string key;
      if (!parseString(key))
        return "expected a quoted key in header";
      skipSpace();
      if (!eat(':'))
        return "expected ':' after key '" + key + "' in header";
      skipSpace();
      if (key == "descr") {
        if (!parseString(descr))
          return "descr is not a simple type string (structured dtypes are "
                 "not supported)";
        seenDescr = true;
      } else if (key == "fortran_order") {
        if (word("True"))
          fortranOrder = true;
        else if (word("False"))
          fortranOrder = false;
        else
          return "fortran_order is neither True nor False";
        seenOrder = true;
      } else if (key == "shape") {
        std::string err = parseShape();
        if (!err.empty())
          return err;
        seenShape = true;
      } else {
        return "unexpected key '" + key + "' in header";
      }
      skipSpace();
      if (eat(','))
        continue;
      skipSpace();
      if (eat('}'))
        break;
      return "expected ',' or '}' in header";
    }
    skipSpace();
    if (i != s.size())
      return "unexpected text after the header dict";
    if (!seenDescr || !seenOrder || !seenShape)
      return "header lacks one of 'descr', 'fortran_order', 'shape'";
    return "";
  }

  std::string descr;
  bool fortranOrder = false;
  std::vector<int64_t> shape;

private:
  void skipSpace() {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])))
      ++i;
  }
  bool eat(char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  bool word(const char *w) {
    size_t n = std::strlen(w);
    if (s.compare(i, n, w) != 0)
      return false;
    i += n;
    return true;
  }
  bool parseString(std::string &out) {
    if (i >= s.size() || (s[i] != '\'' && s[i] != '"'))
      return false;
    char quote = s[i++];
    size_t end = s.find(quote, i);
    if (end == std::string::npos)
      return false;
    out = s.substr(i, end - i);
    i = end + 1;
    return true;
  }
  std::string parseShape() {
    if (!eat('('))
      return "shape is not a tuple";
    for (;;) {
      skipSpace();
      if (eat(')'))
        return "";
      size_t begin = i;
      int64_t value = 0;
      while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
        int digit = s[i] - '0';
        if (value > (std::numeric_limits<int64_t>::max() - digit) / 10)
          return "shape dimension too large";
        value = value * 10 + digit;
        ++i;
      }
      if (i == begin)
        return "shape holds something other than non-negative integers";
      eat('L'); // Python 2 longs, as old numpy wrote them
      shape.push_back(value);
      skipSpace();
      if (eat(','))
        continue;
      skipSpace();
      if (eat(')'))
        return "";
      return "expected ',' or ')' in shape";
    }
  }

  const std::string &s;
  size_t i = 0;
};

struct FileCloser {
  void operator()(std::FILE *f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

uint32_t readLE(const unsigned char *p, int bytes) {
  uint32_t v = 0;
  for (int b = bytes - 1; b >= 0; --b)
    v = (v << 8) | p[b];
  return v;
}
} // namespace

size_t NpyArray::numel() const {
  size_t n = 1;
  for (int64_t d : shape)
    n *= static_cast<size_t>(d);
  return n;
}

size_t npyItemSize(const std::string &dtype) {
  if (dtype == "f4" || dtype == "i4")
    return 4;
  if (dtype == "f8" || dtype == "i8")
    return 8;
  return 0;
}

bool readNpy(const std::string &path, NpyArray &out, std::string &error) {
  auto fail = [&](const std::string &what) {
    error = path + ": " + what;
    return false;
  };
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (!file)
    return fail(std::string("cannot open file (") + std::strerror(errno) + ")");
  std::vector<unsigned char> bytes;
  unsigned char buffer[1 << 16];
  size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, file.get())) > 0)
    bytes.insert(bytes.end(), buffer, buffer + got);
  if (std::ferror(file.get()))
    return fail(std::string("read error (") + std::strerror(errno) + ")");
  if (!parseNpy(bytes, out, error)) {
    error = path + ": " + error;
    return false;
  }
  return true;
}

bool parseNpy(const std::vector<unsigned char> &bytes, NpyArray &out, std::string &error) {
  auto fail = [&](const std::string &what) {
    error = what;
    return false;
  };
  if (bytes.size() < kMagicLen || std::memcmp(bytes.data(), kMagic, kMagicLen))
    return fail("bad magic (not a .npy file)");
  if (bytes.size() < kMagicLen + 2)
    return fail("file ends inside the version field");
  int major = bytes[6], minor = bytes[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0)
    return fail("unsupported .npy format version " + std::to_string(major) + "." +
                std::to_string(minor) + " (supported: 1.0, 2.0, 3.0)");
  // Version 1.0 stores the header length in 2 bytes, later versions in 4.
  int lenBytes = major == 1 ? 2 : 4;
  size_t headerStart = kMagicLen + 2 + lenBytes;
  if (bytes.size() < headerStart)
    return fail("file ends inside the header length field");
  size_t headerLen = readLE(&bytes[kMagicLen + 2], lenBytes);
  if (bytes.size() - headerStart < headerLen)
    return fail("truncated header: expected " + std::to_string(headerLen) + " bytes, found " +
                std::to_string(bytes.size() - headerStart));
  std::string header(bytes.begin() + headerStart, bytes.begin() + headerStart + headerLen);

  HeaderParser parser(header);
  std::string err = parser.parse();
  if (!err.empty())
    return fail("unparsable header: " + err + " in \"" + header + "\"");
  if (parser.fortranOrder)
    return fail("fortran_order is True; only C-order arrays are supported");

  // '=' is native and '|' is "not applicable", which numpy also reads as
  // native; both mean little-endian on the hosts this code builds for.
  const std::string &descr = parser.descr;
  std::string dtype;
  if (descr.size() == 3 && (descr[0] == '<' || descr[0] == '=' || descr[0] == '|'))
    dtype = descr.substr(1);
  if (npyItemSize(dtype) == 0)
    return fail("unsupported dtype '" + descr + "' (supported: <f4, <f8, <i4, <i8)");

  size_t count;
  if (!elementCount(parser.shape, count) ||
      count > std::numeric_limits<size_t>::max() / npyItemSize(dtype))
    return fail("shape is too large");
  size_t expected = count * npyItemSize(dtype);
  size_t actual = bytes.size() - headerStart - headerLen;
  if (actual < expected)
    return fail("truncated data: expected " + std::to_string(expected) + " bytes, found " +
                std::to_string(actual));
  if (actual > expected)
    return fail("trailing data: expected " + std::to_string(expected) + " bytes, found " +
                std::to_string(actual));

  out.dtype = dtype;
  out.shape = parser.shape;
  out.data.assign(bytes.begin() + headerStart + headerLen, bytes.end());
  return true;
}

bool writeNpy(const std::string &path, const NpyArray &a, std::string &error) {
  auto fail = [&](const std::string &what) {
    error = path + ": " + what;
    return false;
  };
  if (npyItemSize(a.dtype) == 0)
    return fail("cannot write unsupported dtype '" + a.dtype + "'");
  size_t count;
  if (!elementCount(a.shape, count))
    return fail("invalid shape");
  if (a.data.size() != count * npyItemSize(a.dtype))
    return fail("data holds " + std::to_string(a.data.size()) + " bytes but the shape needs " +
                std::to_string(count * npyItemSize(a.dtype)));

  std::ostringstream dict;
  dict.imbue(std::locale::classic()); // not the host's global locale
  dict << "{'descr': '<" << a.dtype << "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < a.shape.size(); ++i)
    dict << (i ? ", " : "") << a.shape[i];
  dict << (a.shape.size() == 1 ? ",)" : ")") << ", }";
  std::string header = dict.str();

  // Pad with spaces and a final newline so the data starts 64-byte aligned,
  // as numpy does; fall back to version 2.0 only if the length needs 4 bytes.
  int major = 1;
  size_t prefix = kMagicLen + 2 + 2;
  size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  if (total - prefix > 0xFFFF) {
    major = 2;
    prefix = kMagicLen + 2 + 4;
    total = (prefix + header.size() + 1 + 63) / 64 * 64;
  }
  header.append(total - prefix - header.size() - 1, ' ');
  header.push_back('\n');

  std::vector<unsigned char> bytes(kMagic, kMagic + kMagicLen);
  bytes.push_back(static_cast<unsigned char>(major));
  bytes.push_back(0);
  size_t len = header.size();
  for (int b = 0; b < (major == 1 ? 2 : 4); ++b)
    bytes.push_back(static_cast<unsigned char>((len >> (8 * b)) & 0xFF));
  bytes.insert(bytes.end(), header.begin(), header.end());
  bytes.insert(bytes.end(), a.data.begin(), a.data.end());

  FilePtr file(std::fopen(path.c_str(), "wb"));
  if (!file)
    return fail(std::string("cannot open file for writing (") + std::strerror(errno) + ")");
  if (std::fwrite(bytes.data(), 1, bytes.size(), file.get()) != bytes.size())
    return fail("write error");
  if (std::fclose(file.release()) != 0)
    return fail("write error on close");
  return true;
}

namespace {
template <typename Elem>
NpyArray makeArray(const char *dtype, std::vector<int64_t> shape, const std::vector<Elem> &values) {
  size_t count;
  if (!elementCount(shape, count) || count != values.size())
    throw std::invalid_argument("npy: " + std::to_string(values.size()) +
                                " values do not match the shape");
  NpyArray a;
  a.dtype = dtype;
  a.shape = std::move(shape);
  a.data.resize(values.size() * sizeof(Elem));
  if (!values.empty())
    std::memcpy(a.data.data(), values.data(), a.data.size());
  return a;
}

template <typename Elem> Elem loadElem(const NpyArray &a, size_t i) {
  Elem x;
  std::memcpy(&x, a.data.data() + i * sizeof(Elem), sizeof(Elem));
  return x;
}

bool checkSize(const NpyArray &a, std::string &error) {
  if (a.data.size() == a.numel() * npyItemSize(a.dtype))
    return true;
  error = "npy array of dtype '" + a.dtype + "' holds " + std::to_string(a.data.size()) +
          " bytes, not numel * itemsize";
  return false;
}

template <typename Out>
bool toFloating(const NpyArray &a, std::vector<Out> &out, std::string &error) {
  if (a.dtype != "f4" && a.dtype != "f8") {
    error = "expected a floating-point array (f4 or f8), got dtype '" + a.dtype + "'";
    return false;
  }
  if (!checkSize(a, error))
    return false;
  size_t n = a.numel();
  out.resize(n);
  for (size_t i = 0; i < n; ++i)
    out[i] = a.dtype == "f4" ? static_cast<Out>(loadElem<float>(a, i))
                             : static_cast<Out>(loadElem<double>(a, i));
  return true;
}
} // namespace

NpyArray makeNpyF32(std::vector<int64_t> shape, const std::vector<float> &values) {
  return makeArray("f4", std::move(shape), values);
}

NpyArray makeNpyF32(std::vector<int64_t> shape, const std::vector<double> &values) {
  std::vector<float> narrowed(values.begin(), values.end());
  return makeArray("f4", std::move(shape), narrowed);
}

NpyArray makeNpyF64(std::vector<int64_t> shape, const std::vector<double> &values) {
  return makeArray("f8", std::move(shape), values);
}

NpyArray makeNpyI64(std::vector<int64_t> shape, const std::vector<int64_t> &values) {
  return makeArray("i8", std::move(shape), values);
}

bool toFloatVector(const NpyArray &a, std::vector<float> &out, std::string &error) {
  return toFloating(a, out, error);
}

bool toDoubleVector(const NpyArray &a, std::vector<double> &out, std::string &error) {
  return toFloating(a, out, error);
}

bool toInt64Vector(const NpyArray &a, std::vector<int64_t> &out, std::string &error) {
  if (a.dtype != "i4" && a.dtype != "i8") {
    error = "expected an integer array (i4 or i8), got dtype '" + a.dtype + "'";
    return false;
  }
  if (!checkSize(a, error))
    return false;
  size_t n = a.numel();
  out.resize(n);
  for (size_t i = 0; i < n; ++i)
    out[i] = a.dtype == "i4" ? loadElem<int32_t>(a, i) : loadElem<int64_t>(a, i);
  return true;
}

} // namespace gdn
