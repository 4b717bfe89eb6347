//===- Jit.cpp - compile layers to GPU kernels at run time ----------------===//
#include "gdn/Codegen/Jit.h"
#include "CacheEntry.h"
#include "JitInternal.h"
#include "gdn/Codegen/GpuCompiler.h"
#include "gdn/Codegen/gdn_jit.h"

#include "llvm/Config/llvm-config.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <locale>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "gdn/Codegen/SourceHash.h" // GDN_CODEGEN_SOURCE_HASH, generated at build time

#ifndef GDN_COMPILER_REVISION
#define GDN_COMPILER_REVISION "dev"
#endif

namespace fs = std::filesystem;

namespace gdn::jit {

//===----------------------------------------------------------------------===//
// Cache
//===----------------------------------------------------------------------===//

namespace detail {

/// 128-bit FNV-1a (two 64-bit lanes with different offsets): collisions are not a concern
/// for a cache of compiled kernels, and it needs no crypto library.
std::string hashHex(const std::string &data) {
  uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;
  for (unsigned char c : data) {
    a = (a ^ c) * 0x100000001b3ull;
    b = (b ^ c) * 0x100000001b3ull + 0x9e3779b97f4a7c15ull;
  }
  std::ostringstream os;
  os.imbue(std::locale::classic()); // not the host's global locale
  os << std::hex << std::setfill('0') << std::setw(16) << a << std::setw(16) << b;
  return os.str();
}

std::string defaultCacheDir() {
  if (const char *env = std::getenv("GDN_CACHE_DIR"))
    return env;
  if (const char *xdg = std::getenv("XDG_CACHE_HOME"))
    return std::string(xdg) + "/gdn";
  if (const char *home = std::getenv("HOME"))
    return std::string(home) + "/.cache/gdn";
  return "/tmp/gdn-cache";
}

/// Writes `data` to `path` atomically: a uniquely named temporary file, then rename. On any
/// failure (a full disk, a read-only folder) the temporary file is removed and nothing
/// appears at `path`.
bool writeAtomically(const fs::path &path, const std::string &data) {
  static std::atomic<uint64_t> counter{0};
  std::ostringstream tmpName;
  tmpName.imbue(std::locale::classic()); // not the host's global locale
  tmpName << "." << path.filename().string() << ".tmp." << getpid() << "."
          << std::hash<std::thread::id>()(std::this_thread::get_id()) << "." << counter++;
  fs::path tmp = path.parent_path() / tmpName.str();
  std::error_code ec;
  bool written;
  {
    std::ofstream f(tmp, std::ios::binary);
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
    f.close();
    written = static_cast<bool>(f);
  }
  if (written)
    fs::rename(tmp, path, ec);
  if (!written || ec) {
    fs::remove(tmp, ec);
    return false;
  }
  return true;
}

} // namespace detail

using namespace detail;

namespace {

using Artifact = CacheEntry;

struct MemoryCache {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<Artifact>> artifacts;
  std::map<std::string, std::shared_ptr<Kernel>> kernels;
  std::map<std::string, std::shared_ptr<std::mutex>> keyLocks;
};

MemoryCache &memory() {
  static MemoryCache cache;
  return cache;
}

bool readWhole(const fs::path &path, std::string &out) {
  std::ifstream f(path, std::ios::binary);
  if (!f)
    return false;
  std::ostringstream os;
  os.imbue(std::locale::classic()); // not the host's global locale
  os << f.rdbuf();
  out = os.str();
  return true;
}

/// The disk entry of `key` (CacheEntry.h): false when there is none or it is not intact
/// (then with a warning saying why; the caller compiles and overwrites it).
bool loadFromDisk(const fs::path &dir, const std::string &key, Artifact &a) {
  fs::path path = dir / (key + ".gdnk");
  std::string bytes, why;
  if (!readWhole(path, bytes))
    return false;
  if (!decodeCacheEntry(bytes, a, why, key)) {
    std::fprintf(stderr, "gdn-jit: warning: ignoring a corrupt cache entry %s: %s\n", path.c_str(),
                 why.c_str());
    return false;
  }
  return true;
}

/// Removes the temporary files of `key` left by writers that died before their rename (a
/// killed process): `.<key>.gdnk.tmp.<pid>.…` whose pid no longer exists.
void removeDeadWritersFiles(const fs::path &dir, const std::string &key) {
  std::string prefix = "." + key + ".gdnk.tmp.";
  std::error_code ec;
  for (const fs::directory_entry &e : fs::directory_iterator(dir, ec)) {
    std::string name = e.path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0)
      continue;
    long pid = std::strtol(name.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH)
      fs::remove(e.path(), ec);
  }
}

void storeToDisk(const fs::path &dir, const std::string &key, const Artifact &a) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!ec)
    removeDeadWritersFiles(dir, key);
  if (ec || !writeAtomically(dir / (key + ".gdnk"), encodeCacheEntry(a)))
    std::fprintf(stderr,
                 "gdn-jit: warning: cannot write the cache entry %s in %s%s%s (the kernel is "
                 "used, not cached)\n",
                 key.c_str(), dir.c_str(), ec ? ": " : "", ec ? ec.message().c_str() : "");
}

Status artifactFor(const std::string &source, const Options &options,
                   std::shared_ptr<Artifact> &out, CacheOutcome &outcome, std::string &keyOut) {
  std::string key = cacheKey(source, options);
  keyOut = key;
  MemoryCache &cache = memory();
  std::shared_ptr<std::mutex> keyLock;
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    if (auto it = cache.artifacts.find(key); it != cache.artifacts.end()) {
      out = it->second;
      outcome = CacheOutcome::MemoryHit;
      return Status::ok();
    }
    auto &slot = cache.keyLocks[key];
    if (!slot)
      slot = std::make_shared<std::mutex>();
    keyLock = slot;
  }
  // One compile per key in this process; other threads wanting it wait here.
  std::lock_guard<std::mutex> compiling(*keyLock);
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    if (auto it = cache.artifacts.find(key); it != cache.artifacts.end()) {
      out = it->second;
      outcome = CacheOutcome::MemoryHit;
      return Status::ok();
    }
  }
  auto artifact = std::make_shared<Artifact>();
  fs::path dir = options.cacheDir.empty() ? defaultCacheDir() : options.cacheDir;
  if (options.diskCache && loadFromDisk(dir, key, *artifact)) {
    outcome = CacheOutcome::DiskHit;
  } else {
    GpuArtifact compiled;
    std::string error;
    if (!compileLayerForGpu(source, "<jit>", options.compile, compiled, error))
      return Status::error(Status::Code::InvalidArgument, "gdn-jit: " + error);
    // kernel = auto fell back to the (much slower) recurrent kernel: say why, once per compile.
    if (!compiled.recurrentBecause.empty())
      std::fprintf(stderr,
                   "gdn-jit: note: the recurrent kernel, since the chunked one cannot take this "
                   "layer with these options: %s\n",
                   compiled.recurrentBecause.c_str());
    if (!compiled.genericBecause.empty())
      std::fprintf(stderr, "gdn-jit: note: %s\n", compiled.genericBecause.c_str());
    artifact->key = key;
    artifact->metadata = compiled.metadata;
    artifact->ptx = compiled.ptx;
    artifact->cubin = compiled.cubin;
    if (options.diskCache)
      storeToDisk(dir, key, *artifact);
    outcome = CacheOutcome::Compiled;
  }
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.artifacts[key] = artifact;
  out = artifact;
  return Status::ok();
}

} // namespace

/// The git revision at configure time and a hash of the kernel compiler's sources at build
/// time: uncommitted edits to a kernel builder change it too.
std::string compilerRevision() {
  return std::string(GDN_COMPILER_REVISION) + "+" + GDN_CODEGEN_SOURCE_HASH;
}

std::string cacheDirectory(const Options &options) {
  return options.cacheDir.empty() ? defaultCacheDir() : options.cacheDir;
}

std::string cacheKey(const std::string &layerSource, const Options &options) {
  std::ostringstream os;
  os.imbue(std::locale::classic()); // not the host's global locale
  const GpuCompileOptions &c = options.compile;
  os << "gdn-jit/3|" << compilerRevision() << "|llvm " << LLVM_VERSION_STRING << "|" << c.chip
     << "|" << c.features << "|" << c.blockSize << "|" << c.kSlices << "|" << c.kernel << "|";
#define GDN_CHUNKED_INT(field, name, init, allowed, help) os << name "=" << c.field << "|";
#define GDN_CHUNKED_RANGE(field, name, init, low, high, help) os << name "=" << c.field << "|";
#define GDN_CHUNKED_BOOL(field, name, init, help) os << name "=" << c.field << "|";
#include "gdn/Codegen/ChunkedOptions.def"
  os << c.cubin << "|" << layerSource;
  return hashHex(os.str());
}

Status compileArtifact(const std::string &layerSource, const Options &options,
                       KernelMetadata &metadata, std::string &ptx, std::vector<char> &cubin,
                       CacheOutcome *outcome) {
  std::shared_ptr<Artifact> artifact;
  CacheOutcome how;
  std::string key;
  if (Status s = artifactFor(layerSource, options, artifact, how, key); !s)
    return s;
  metadata = artifact->metadata;
  ptx = artifact->ptx;
  cubin = artifact->cubin;
  if (outcome)
    *outcome = how;
  return Status::ok();
}

Status compile(const std::string &layerSource, const Options &options,
               std::shared_ptr<Kernel> &kernel, CacheOutcome *outcome) {
  std::shared_ptr<Artifact> artifact;
  CacheOutcome how;
  std::string key;
  if (Status s = artifactFor(layerSource, options, artifact, how, key); !s)
    return s;
  if (outcome)
    *outcome = how;
  MemoryCache &cache = memory();
  {
    std::lock_guard<std::mutex> lock(cache.mutex);
    if (auto it = cache.kernels.find(key); it != cache.kernels.end()) {
      kernel = it->second;
      return Status::ok();
    }
  }
  std::unique_ptr<Kernel> loaded;
  const std::vector<char> image =
      artifact->cubin.empty() ? std::vector<char>(artifact->ptx.begin(), artifact->ptx.end())
                              : artifact->cubin;
  if (Status s = Kernel::load(image, artifact->metadata, loaded); !s)
    return s;
  std::lock_guard<std::mutex> lock(cache.mutex);
  auto &slot = cache.kernels[key];
  if (!slot)
    slot = std::shared_ptr<Kernel>(std::move(loaded));
  kernel = slot;
  return Status::ok();
}

Status compile(const LayerDescription &layer, const Options &options,
               std::shared_ptr<Kernel> &kernel, CacheOutcome *outcome) {
  return compile(layer.toMlir(), options, kernel, outcome);
}

void clearMemoryCache() {
  MemoryCache &cache = memory();
  std::lock_guard<std::mutex> lock(cache.mutex);
  cache.artifacts.clear();
  cache.kernels.clear();
}

} // namespace gdn::jit

extern "C" gdn_status gdn_jit_compile(const char *layerMlir, const char *chip, const char *cacheDir,
                                      gdn_kernel **out) {
  if (!layerMlir || !out)
    return static_cast<gdn_status>(gdn::reportCStatus(gdn::Status::error(
        gdn::Status::Code::InvalidArgument, "gdn_jit_compile: layer_mlir and out must be given")));
  *out = nullptr;
  gdn::jit::Options options;
  if (chip)
    options.compile.chip = chip;
  if (cacheDir)
    options.cacheDir = cacheDir;
  std::shared_ptr<gdn::Kernel> kernel;
  if (gdn::Status s = gdn::jit::compile(layerMlir, options, kernel); !s)
    return static_cast<gdn_status>(gdn::reportCStatus(s));
  *out = gdn::makeCKernelHandle(std::move(kernel));
  return *out ? GDN_OK : GDN_ERROR_INVALID_ARGUMENT;
}
