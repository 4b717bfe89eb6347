//===- CacheEntry.h - one JIT disk-cache entry as one file -------*- C++ -*-===//
//
// A compiled kernel in the JIT's disk cache is one file, `<key>.gdnk`, written to a private
// temporary file and renamed into place (so a reader sees a whole entry or none):
//
//   gdn-jit-cache 1\n  key <the entry's cache key>\n
//   meta <bytes>\n  ptx <bytes>\n  cubin <bytes>\n  fnv1a <32 hex digits of key\n + payload>\n
//   \n
//   <metadata record><PTX><cubin>
//
// The reader checks every field, the key against the one asked for (an entry copied or renamed
// to another key's file is foreign), the sizes against the file, the checksum, the metadata
// record and the PTX's entry point, and says what is wrong: a truncated, corrupted or foreign
// file is rebuilt, never loaded. No MLIR here (a fuzz target links it with the runtime alone).
//
//===----------------------------------------------------------------------===//
#ifndef GDN_CODEGEN_CACHEENTRY_H
#define GDN_CODEGEN_CACHEENTRY_H

#include "gdn/Runtime.h"

#include <string>
#include <vector>

namespace gdn::jit::detail {

struct CacheEntry {
  std::string key; ///< the cache key it was compiled for (jit::cacheKey)
  KernelMetadata metadata;
  std::string ptx;
  std::vector<char> cubin;
};

/// The file's bytes for `entry`.
std::string encodeCacheEntry(const CacheEntry &entry);
/// Reads `bytes` into `entry`; false with `why` set when the bytes are not a whole, intact
/// entry, or (with a non-empty `expectedKey`) an entry of another key.
bool decodeCacheEntry(const std::string &bytes, CacheEntry &entry, std::string &why,
                      const std::string &expectedKey = "");

} // namespace gdn::jit::detail

#endif // GDN_CODEGEN_CACHEENTRY_H
