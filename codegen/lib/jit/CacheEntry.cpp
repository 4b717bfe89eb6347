//===- CacheEntry.cpp - one JIT disk-cache entry as one file --------------===//
#include "CacheEntry.h"

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace gdn::jit::detail {

namespace {

const char *const kMagic = "gdn-jit-cache 1\n";

/// 128-bit FNV-1a (two lanes), as 32 hex digits: detects truncation and bit rot, which is
/// what a cache needs (it is not a defence against a forger who can write the cache).
std::string checksum(const char *data, size_t size) {
  uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
  for (size_t i = 0; i < size; ++i) {
    unsigned char c = static_cast<unsigned char>(data[i]);
    a = (a ^ c) * 0x100000001b3ull;
    b = (b ^ c) * 0x100000001b3ull + 0x9e3779b97f4a7c15ull;
  }
  char text[33];
  std::snprintf(text, sizeof text, "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return text;
}

/// Reads "<name> <decimal>\n" at `pos`.
bool readSize(const std::string &bytes, size_t &pos, const char *name, uint64_t &value,
              std::string &why) {
  std::string prefix = std::string(name) + " ";
  if (bytes.compare(pos, prefix.size(), prefix) != 0) {
    why = std::string("no '") + name + "' field";
    return false;
  }
  pos += prefix.size();
  size_t start = pos;
  value = 0;
  while (pos < bytes.size() && bytes[pos] >= '0' && bytes[pos] <= '9' && pos - start < 19)
    value = value * 10 + static_cast<uint64_t>(bytes[pos++] - '0');
  if (pos == start || pos >= bytes.size() || bytes[pos] != '\n') {
    why = std::string("'") + name + "' is not a size";
    return false;
  }
  ++pos;
  return true;
}

} // namespace

std::string encodeCacheEntry(const CacheEntry &entry) {
  std::string meta = entry.metadata.serialize();
  std::string payload = meta + entry.ptx + std::string(entry.cubin.begin(), entry.cubin.end());
  std::string out = kMagic;
  out += "key " + entry.key + "\n";
  out += "meta " + std::to_string(meta.size()) + "\n";
  out += "ptx " + std::to_string(entry.ptx.size()) + "\n";
  out += "cubin " + std::to_string(entry.cubin.size()) + "\n";
  std::string summed = entry.key + "\n" + payload; // the key is covered too
  out += "fnv1a " + checksum(summed.data(), summed.size()) + "\n\n";
  return out + payload;
}

bool decodeCacheEntry(const std::string &bytes, CacheEntry &entry, std::string &why,
                      const std::string &expectedKey) {
  size_t magic = std::strlen(kMagic);
  if (bytes.compare(0, magic, kMagic) != 0) {
    why = "not a gdn-jit-cache 1 entry";
    return false;
  }
  size_t pos = magic;
  size_t keyEnd = bytes.find('\n', pos);
  if (bytes.compare(pos, 4, "key ") != 0 || keyEnd == std::string::npos || keyEnd - pos > 4 + 64) {
    why = "no 'key' field";
    return false;
  }
  std::string key = bytes.substr(pos + 4, keyEnd - pos - 4);
  if (!expectedKey.empty() && key != expectedKey) {
    why = "an entry of another key (" + key + ")";
    return false;
  }
  pos = keyEnd + 1;
  uint64_t metaSize, ptxSize, cubinSize;
  if (!readSize(bytes, pos, "meta", metaSize, why) || !readSize(bytes, pos, "ptx", ptxSize, why) ||
      !readSize(bytes, pos, "cubin", cubinSize, why))
    return false;
  if (bytes.compare(pos, 6, "fnv1a ") != 0 || pos + 6 + 32 + 2 > bytes.size() ||
      bytes.compare(pos + 38, 2, "\n\n") != 0) {
    why = "no checksum";
    return false;
  }
  std::string sum = bytes.substr(pos + 6, 32);
  pos += 40;
  uint64_t payload = bytes.size() - pos;
  if (metaSize > payload || ptxSize > payload || cubinSize > payload ||
      metaSize + ptxSize + cubinSize != payload) {
    why = "truncated or padded: the sizes say " + std::to_string(metaSize + ptxSize + cubinSize) +
          " payload bytes, the file holds " + std::to_string(payload);
    return false;
  }
  std::string summed = key + "\n" + bytes.substr(pos);
  if (checksum(summed.data(), summed.size()) != sum) {
    why = "checksum mismatch";
    return false;
  }
  CacheEntry e;
  e.key = key;
  if (Status s = KernelMetadata::parse(bytes.substr(pos, metaSize), e.metadata); !s) {
    why = "bad metadata record: " + s.message;
    return false;
  }
  e.ptx = bytes.substr(pos + metaSize, ptxSize);
  if (e.ptx.find(".entry " + e.metadata.kernelName) == std::string::npos) {
    why = "the PTX has no entry point '" + e.metadata.kernelName + "'";
    return false;
  }
  const char *cubin = bytes.data() + pos + metaSize + ptxSize;
  e.cubin.assign(cubin, cubin + cubinSize);
  entry = std::move(e);
  return true;
}

} // namespace gdn::jit::detail
