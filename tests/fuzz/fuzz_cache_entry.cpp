// libFuzzer target: the JIT cache-entry reader (codegen/lib/jit/CacheEntry.cpp). Past the parser:
// an entry it accepts (rare from random bytes: the checksum; the seeds are whole entries);
// those must re-encode to the same bytes.
#include "CacheEntry.h"
#include "FuzzStats.h"

#include <cstddef>
#include <cstdint>

static gdn_fuzz::Stats stats("cache_entry");

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ++stats.inputs;
  std::string bytes(reinterpret_cast<const char *>(data), size);
  gdn::jit::detail::CacheEntry entry;
  std::string why;
  if (!gdn::jit::detail::decodeCacheEntry(bytes, entry, why)) {
    if (why.empty())
      gdn_fuzz::fail("a refused entry without a reason");
    return 0;
  }
  ++stats.past;
  gdn::jit::detail::CacheEntry again;
  if (!gdn::jit::detail::decodeCacheEntry(gdn::jit::detail::encodeCacheEntry(entry), again, why))
    gdn_fuzz::fail("a re-encoded entry does not decode");
  if (again.key != entry.key || again.ptx != entry.ptx || again.cubin != entry.cubin ||
      again.metadata.serialize() != entry.metadata.serialize())
    gdn_fuzz::fail("an entry does not round-trip");
  return 0;
}
