// The JIT's disk cache under faults, without a GPU: the entry codec against truncation and
// corruption, 16 threads and 4 processes compiling into one cache folder, a folder that
// cannot be written, a full disk (a file-size limit), and compiler processes killed at random
// points while they write. Nothing crashes, every result is the kernel that was asked for,
// and what could not be cached is said.
#include "CacheEntry.h"
#include "gdn/Codegen/Jit.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <thread>

extern char **environ;

using namespace gdn;
namespace fs = std::filesystem;

namespace {

std::string layerSource(int variant) {
  jit::LayerDescription layer;
  layer.H = 1;
  layer.HV = 1 + variant % 4;
  layer.qkL2norm = variant >= 4;
  return layer.toMlir();
}

fs::path scratch(const std::string &name) {
  fs::path dir =
      fs::temp_directory_path() / ("gdn-jit-cache-test-" + std::to_string(getpid()) + "-" + name);
  fs::remove_all(dir);
  return dir;
}

std::string read(const fs::path &path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream os;
  os << f.rdbuf();
  return os.str();
}

std::vector<fs::path> entries(const fs::path &dir, bool temporaries) {
  std::vector<fs::path> out;
  std::error_code ec;
  for (auto &e : fs::directory_iterator(dir, ec)) {
    bool tmp = e.path().filename().string().find(".tmp.") != std::string::npos;
    if (tmp == temporaries)
      out.push_back(e.path());
  }
  return out;
}

jit::detail::CacheEntry sampleEntry() {
  jit::detail::CacheEntry e;
  e.key = "0123456789abcdef0123456789abcdef";
  e.metadata.kernelName = "layer_chunked";
  e.metadata.H = e.metadata.HV = 1;
  e.metadata.K = e.metadata.V = 64;
  e.metadata.blockSize = e.metadata.vTile = 64;
  e.metadata.inputType = "bf16";
  e.metadata.args = {"q", "k", "v", "o", "T"};
  e.ptx = ".version 8.0\n.visible .entry layer_chunked(\n)\n{\n ret;\n}\n";
  e.cubin = {'\x7f', 'E', 'L', 'F', '\0', '\1', '\2'};
  return e;
}

TEST(JitCacheEntry, RoundTrips) {
  jit::detail::CacheEntry in = sampleEntry(), out;
  std::string why;
  ASSERT_TRUE(jit::detail::decodeCacheEntry(jit::detail::encodeCacheEntry(in), out, why)) << why;
  EXPECT_EQ(out.key, in.key);
  EXPECT_EQ(out.metadata.serialize(), in.metadata.serialize());
  // The same bytes read for another key are foreign.
  EXPECT_FALSE(jit::detail::decodeCacheEntry(jit::detail::encodeCacheEntry(in), out, why,
                                             "ffffffffffffffffffffffffffffffff"));
  EXPECT_EQ(why, "an entry of another key (0123456789abcdef0123456789abcdef)");
  EXPECT_EQ(out.ptx, in.ptx);
  EXPECT_EQ(out.cubin, in.cubin);
}

TEST(JitCacheEntry, EveryTruncationAndEveryByteFlipIsRefused) {
  std::string bytes = jit::detail::encodeCacheEntry(sampleEntry());
  jit::detail::CacheEntry out;
  std::string why;
  for (size_t n = 0; n < bytes.size(); ++n)
    EXPECT_FALSE(jit::detail::decodeCacheEntry(bytes.substr(0, n), out, why)) << n;
  EXPECT_FALSE(jit::detail::decodeCacheEntry(bytes + "x", out, why));
  EXPECT_NE(why.find("truncated or padded"), std::string::npos) << why;
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x20);
    EXPECT_FALSE(jit::detail::decodeCacheEntry(flipped, out, why)) << "byte " << i;
  }
  EXPECT_FALSE(jit::detail::decodeCacheEntry("garbage", out, why));
  EXPECT_EQ(why, "not a gdn-jit-cache 1 entry");
  // Sizes beyond any file do not overflow the reader.
  std::string huge = "gdn-jit-cache 1\nkey k\nmeta 9999999999999999999\nptx 0\ncubin 0\nfnv1a " +
                     std::string(32, '0') + "\n\n";
  EXPECT_FALSE(jit::detail::decodeCacheEntry(huge, out, why));
}

// 16 threads, four layers: one compile per layer, every thread gets its layer's kernel.
TEST(JitCacheFaults, SixteenThreadsShareOneCompilePerLayer) {
  fs::path dir = scratch("threads");
  jit::Options options;
  options.cacheDir = dir.string();
  jit::clearMemoryCache();
  std::vector<std::thread> threads;
  std::vector<std::string> ptx(16), names(16);
  std::vector<jit::CacheOutcome> outcomes(16);
  for (int i = 0; i < 16; ++i)
    threads.emplace_back([&, i] {
      KernelMetadata meta;
      std::vector<char> cubin;
      Status s =
          jit::compileArtifact(layerSource(i % 4), options, meta, ptx[i], cubin, &outcomes[i]);
      EXPECT_TRUE(s.isOk()) << s.message;
      names[i] = meta.kernelName;
    });
  for (auto &t : threads)
    t.join();
  for (int i = 4; i < 16; ++i)
    EXPECT_EQ(ptx[i], ptx[i % 4]) << i;
  EXPECT_EQ(std::count(outcomes.begin(), outcomes.end(), jit::CacheOutcome::Compiled), 4);
  EXPECT_EQ(entries(dir, false).size(), 4u);
  EXPECT_TRUE(entries(dir, true).empty());
  fs::remove_all(dir);
}

// A child process of this test binary (JitCacheChild.DISABLED_Run, which runs only there) compiling
// into GDN_JIT_CHILD_DIR.
pid_t spawnChild(const std::string &mode, const fs::path &dir, const fs::path &out) {
  std::vector<std::string> env;
  for (char **e = environ; *e; ++e)
    env.push_back(*e);
  env.push_back("GDN_JIT_CHILD=" + mode);
  env.push_back("GDN_JIT_CHILD_DIR=" + dir.string());
  env.push_back("GDN_JIT_CHILD_OUT=" + out.string());
  std::vector<char *> envp;
  for (std::string &e : env)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string self = fs::read_symlink("/proc/self/exe").string();
  std::string filter = "--gtest_filter=JitCacheChild.DISABLED_Run";
  std::string disabled = "--gtest_also_run_disabled_tests";
  char *argv[] = {self.data(), filter.data(), disabled.data(), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, self.c_str(), &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

int waitFor(pid_t pid) {
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

// What the children run: compile two layers into the shared folder and write each PTX's
// size and hash to GDN_JIT_CHILD_OUT. Mode "full" first limits the size of any file this
// process (and ptxas, its child) writes to 4 kB: writes past it fail with EFBIG, as on a full
// disk. There the PTX-only layer (no ptxas) compiles and is not cached; the layer that needs
// ptxas fails with a message naming the write (its report line says "error").
TEST(JitCacheChild, DISABLED_Run) {
  const char *mode = std::getenv("GDN_JIT_CHILD");
  ASSERT_NE(mode, nullptr) << "run by the JitCacheFaults tests in a child process";
  if (std::string(mode) == "full") {
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit limit = {4096, 4096};
    setrlimit(RLIMIT_FSIZE, &limit);
  }
  jit::Options options;
  options.cacheDir = std::getenv("GDN_JIT_CHILD_DIR");
  std::ostringstream report;
  bool full = std::string(mode) == "full";
  for (int variant : {0, 5}) {
    KernelMetadata meta;
    std::string ptx;
    std::vector<char> cubin;
    jit::CacheOutcome outcome;
    options.compile.cubin = !(full && variant == 0);
    Status s = jit::compileArtifact(layerSource(variant), options, meta, ptx, cubin, &outcome);
    if (full && variant == 5) {
      if (s.isOk() && cubin.empty()) { // no ptxas on this machine: nothing to write for it
        report << variant << " error (no ptxas)\n";
        continue;
      }
      EXPECT_FALSE(s.isOk());
      EXPECT_NE(s.message.find("cannot write the PTX for ptxas to a temporary file"),
                std::string::npos)
          << s.message;
      report << variant << " error\n";
      continue;
    }
    ASSERT_TRUE(s.isOk()) << s.message;
    report << variant << " " << static_cast<int>(outcome) << " " << ptx.size() << " "
           << std::hash<std::string>()(ptx) << "\n";
  }
  std::ofstream(std::getenv("GDN_JIT_CHILD_OUT")) << report.str();
}

// The PTX hash per layer that this process compiles itself (no disk cache).
std::map<int, std::string> expectedPtx(bool cubin = true) {
  std::map<int, std::string> out;
  jit::Options options;
  options.diskCache = false;
  options.compile.cubin = cubin;
  for (int variant : {0, 5}) {
    KernelMetadata meta;
    std::string ptx;
    std::vector<char> cubin;
    EXPECT_TRUE(jit::compileArtifact(layerSource(variant), options, meta, ptx, cubin).isOk());
    out[variant] = std::to_string(ptx.size()) + " " + std::to_string(std::hash<std::string>()(ptx));
  }
  return out;
}

void expectChildReport(const fs::path &out, const std::map<int, std::string> &want,
                       std::vector<int> *outcomes = nullptr) {
  std::istringstream in(read(out));
  int variant, outcome;
  std::string size, hash, line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    std::istringstream fields(line);
    fields >> variant;
    if (line.find("error") != std::string::npos) {
      EXPECT_EQ(want.count(variant), 0u) << out << ": " << line;
      continue;
    }
    fields >> outcome >> size >> hash;
    EXPECT_EQ(size + " " + hash, want.at(variant)) << out;
    if (outcomes)
      outcomes->push_back(outcome);
  }
  EXPECT_EQ(lines, 2) << out;
}

TEST(JitCacheFaults, FourProcessesShareOneCacheFolder) {
  fs::path dir = scratch("processes");
  std::map<int, std::string> want = expectedPtx();
  std::vector<pid_t> pids;
  for (int i = 0; i < 4; ++i)
    pids.push_back(spawnChild("normal", dir, dir.string() + ".out" + std::to_string(i)));
  for (pid_t pid : pids) {
    ASSERT_GT(pid, 0);
    int status = waitFor(pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  }
  std::vector<int> outcomes;
  for (int i = 0; i < 4; ++i)
    expectChildReport(dir.string() + ".out" + std::to_string(i), want, &outcomes);
  EXPECT_EQ(outcomes.size(), 8u);
  EXPECT_EQ(entries(dir, false).size(), 2u);
  EXPECT_TRUE(entries(dir, true).empty());
  // A fifth process finds both on disk.
  pid_t late = spawnChild("normal", dir, dir.string() + ".late");
  ASSERT_EQ(waitFor(late), 0);
  std::vector<int> lateOutcomes;
  expectChildReport(dir.string() + ".late", want, &lateOutcomes);
  EXPECT_EQ(lateOutcomes, (std::vector<int>{static_cast<int>(jit::CacheOutcome::DiskHit),
                                            static_cast<int>(jit::CacheOutcome::DiskHit)}));
  for (int i = 0; i < 4; ++i)
    fs::remove(dir.string() + ".out" + std::to_string(i));
  fs::remove(dir.string() + ".late");
  fs::remove_all(dir);
}

TEST(JitCacheFaults, AFullDiskLeavesNoEntryAndNoTemporaryFile) {
  fs::path dir = scratch("full");
  std::map<int, std::string> want = {{0, expectedPtx(false).at(0)}};
  pid_t pid = spawnChild("full", dir, dir.string() + ".out");
  ASSERT_GT(pid, 0);
  EXPECT_EQ(waitFor(pid), 0);
  expectChildReport(dir.string() + ".out", want);
  EXPECT_TRUE(entries(dir, false).empty()); // each entry is larger than 4 kB
  EXPECT_TRUE(entries(dir, true).empty());
  fs::remove(dir.string() + ".out");
  fs::remove_all(dir);
}

// What a writer killed between its first byte and its rename leaves: a partial temporary
// file and no entry. The next compile ignores it, writes the entry, and removes the dead
// writer's file.
TEST(JitCacheFaults, AWriterKilledMidWriteLeavesOnlyATemporaryFileThatIsSweptAway) {
  fs::path dir = scratch("midwrite");
  jit::Options options;
  options.cacheDir = dir.string();
  std::string source = layerSource(1);
  std::string key = jit::cacheKey(source, options);
  // A pid that is not running (pid_max is below 2^22 on Linux).
  const long deadPid = 4194303;
  ASSERT_NE(kill(static_cast<pid_t>(deadPid), 0), 0);
  fs::create_directories(dir);
  fs::path stale = dir / ("." + key + ".gdnk.tmp." + std::to_string(deadPid) + ".1.0");
  std::ofstream(stale, std::ios::binary) << "gdn-jit-cache 1\nkey " << key << "\nmeta 40";
  fs::path alive = dir / ("." + key + ".gdnk.tmp." + std::to_string(getpid()) + ".1.0");
  std::ofstream(alive, std::ios::binary) << "gdn-jit-cache 1\n"; // a writer still running
  jit::clearMemoryCache();
  KernelMetadata meta;
  std::string ptx;
  std::vector<char> cubin;
  jit::CacheOutcome outcome;
  testing::internal::CaptureStderr();
  ASSERT_TRUE(jit::compileArtifact(source, options, meta, ptx, cubin, &outcome).isOk());
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(outcome, jit::CacheOutcome::Compiled);
  EXPECT_TRUE(fs::exists(dir / (key + ".gdnk")));
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(alive)); // not a dead writer's
  fs::remove_all(dir);
}

TEST(JitCacheFaults, AnUnwritableFolderCompilesWithAWarning) {
  // Under /proc nothing can be created, even by root.
  jit::Options options;
  options.cacheDir = "/proc/gdn-jit-cache-test";
  jit::clearMemoryCache();
  KernelMetadata meta;
  std::string ptx;
  std::vector<char> cubin;
  jit::CacheOutcome outcome;
  testing::internal::CaptureStderr();
  Status s = jit::compileArtifact(layerSource(1), options, meta, ptx, cubin, &outcome);
  std::string err = testing::internal::GetCapturedStderr();
  ASSERT_TRUE(s.isOk()) << s.message;
  EXPECT_EQ(outcome, jit::CacheOutcome::Compiled);
  EXPECT_NE(err.find("gdn-jit: warning: cannot write the cache entry"), std::string::npos) << err;
  EXPECT_NE(err.find("/proc/gdn-jit-cache-test"), std::string::npos) << err;
}

TEST(JitCacheFaults, CorruptedEntriesAreRebuiltNeverLoaded) {
  fs::path dir = scratch("corrupt");
  jit::Options options;
  options.cacheDir = dir.string();
  std::string source = layerSource(2);
  std::string key = jit::cacheKey(source, options);
  fs::path entry = dir / (key + ".gdnk");
  KernelMetadata meta;
  std::string ptx, good;
  std::vector<char> cubin;
  jit::CacheOutcome outcome;
  jit::clearMemoryCache();
  ASSERT_TRUE(jit::compileArtifact(source, options, meta, good, cubin, &outcome).isOk());
  std::string bytes = read(entry);
  ASSERT_FALSE(bytes.empty());
  std::mt19937 rng(7);
  std::vector<std::string> corruptions = {
      bytes.substr(0, bytes.size() / 2), // truncated
      bytes.substr(0, bytes.size() - 1), // one byte short
      "",                                // empty
      std::string(bytes.size(), '\0'),   // zeroed
  };
  {
    // Another key's intact entry, copied under this key's name.
    std::string other = layerSource(3);
    jit::clearMemoryCache();
    std::string otherPtx;
    ASSERT_TRUE(jit::compileArtifact(other, options, meta, otherPtx, cubin, &outcome).isOk());
    corruptions.push_back(read(dir / (jit::cacheKey(other, options) + ".gdnk")));
  }
  for (int i = 0; i < 8; ++i) { // single flipped bytes
    std::string flipped = bytes;
    flipped[rng() % flipped.size()] ^= 0x01;
    corruptions.push_back(flipped);
  }
  for (const std::string &bad : corruptions) {
    std::ofstream(entry, std::ios::binary | std::ios::trunc) << bad;
    jit::clearMemoryCache();
    testing::internal::CaptureStderr();
    ASSERT_TRUE(jit::compileArtifact(source, options, meta, ptx, cubin, &outcome).isOk());
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(outcome, jit::CacheOutcome::Compiled);
    EXPECT_EQ(ptx, good);
    EXPECT_NE(err.find("ignoring a corrupt cache entry"), std::string::npos) << err;
    EXPECT_EQ(read(entry), bytes); // rewritten whole
  }
  fs::remove_all(dir);
}

// Compiler processes killed (SIGKILL) at random points of a compile that writes the cache
// (mostly while compiling; the write itself takes microseconds, so the next test leaves what a
// writer killed inside it would): afterwards the cache holds a whole entry or none, and a
// compile from it gives the right kernel.
TEST(JitCacheFaults, ProcessesKilledMidWriteLeaveNoBadEntry) {
  fs::path dir = scratch("killed");
  std::map<int, std::string> want = expectedPtx();
  std::mt19937 rng(11);
  for (int round = 0; round < 6; ++round) {
    fs::remove_all(dir);
    pid_t pid = spawnChild("normal", dir, dir.string() + ".out");
    ASSERT_GT(pid, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 1500));
    kill(pid, SIGKILL);
    waitFor(pid);
    jit::Options options;
    options.cacheDir = dir.string();
    jit::clearMemoryCache();
    for (int variant : {0, 5}) {
      KernelMetadata meta;
      std::string ptx;
      std::vector<char> cubin;
      testing::internal::CaptureStderr();
      ASSERT_TRUE(jit::compileArtifact(layerSource(variant), options, meta, ptx, cubin).isOk());
      std::string err = testing::internal::GetCapturedStderr();
      EXPECT_EQ(err.find("corrupt"), std::string::npos) << err; // a rename never half-lands
      EXPECT_EQ(std::to_string(ptx.size()) + " " + std::to_string(std::hash<std::string>()(ptx)),
                want.at(variant));
    }
  }
  fs::remove(dir.string() + ".out");
  fs::remove_all(dir);
}

} // namespace
