//===- JitInternal.h - helpers the JIT and the tuner share ------*- C++ -*-===//
#ifndef GDN_CODEGEN_JITINTERNAL_H
#define GDN_CODEGEN_JITINTERNAL_H

#include <filesystem>
#include <string>

namespace gdn::jit {
namespace detail {
/// 128-bit FNV-1a of `data`, as 32 hex digits.
std::string hashHex(const std::string &data);
/// $GDN_CACHE_DIR, else $XDG_CACHE_HOME/gdn, else ~/.cache/gdn.
std::string defaultCacheDir();
/// Writes `data` to `path` through a uniquely named temporary file and a rename.
bool writeAtomically(const std::filesystem::path &path, const std::string &data);
} // namespace detail

struct Options;
/// The revision of this compiler (part of every cache and tuning key).
std::string compilerRevision();
/// options.cacheDir, or the default.
std::string cacheDirectory(const Options &options);
} // namespace gdn::jit

#endif // GDN_CODEGEN_JITINTERNAL_H
