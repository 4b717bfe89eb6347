// libFuzzer target: the kernel-metadata reader (KernelMetadata::parse, runtime/lib/Runtime.cpp)
// and launch validation against what it read. Past the parser: a record it accepts; those must
// round-trip (serialize, parse, serialize gives the same text), and validating a launch shaped
// by the record's own dimensions must not crash.
#include "FuzzStats.h"
#include "gdn/Runtime.h"

#include <cstddef>
#include <cstdint>

static gdn_fuzz::Stats stats("metadata");

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  ++stats.inputs;
  std::string text(reinterpret_cast<const char *>(data), size);
  gdn::KernelMetadata m;
  gdn::Status s = gdn::KernelMetadata::parse(text, m);
  if (!s) {
    if (s.message.empty())
      gdn_fuzz::fail("a refused record without a message");
    return 0;
  }
  ++stats.past;
  std::string once = m.serialize();
  gdn::KernelMetadata again;
  if (!gdn::KernelMetadata::parse(once, again))
    gdn_fuzz::fail("a serialized record does not parse");
  if (again.serialize() != once)
    gdn_fuzz::fail("a record does not round-trip");
  // A launch with the record's own dimensions (fake, aligned addresses; never dereferenced).
  auto at = [](uintptr_t a) { return reinterpret_cast<const void *>(a); };
  int64_t B = 1 + static_cast<int64_t>(size % 3), T = 1 + static_cast<int64_t>(size % 70);
  gdn::LayerLaunch l;
  l.q = {at(0x10000), m.inputType, {B, T, m.H, m.K}, {}};
  l.k = {at(0x20000), m.inputType, {B, T, m.H, m.K}, {}};
  l.v = {at(0x30000), m.inputType, {B, T, m.HV, m.V}, {}};
  l.o = {at(0x40000), m.inputType, {B, T, m.HV, m.V}, {}};
  if (m.hasArg("g"))
    l.g = {at(0x50000), m.gType, {B, T, m.HV}, {}};
  if (m.hasArg("beta"))
    l.beta = {at(0x60000), m.betaType, {B, T, m.HV}, {}};
  (void)gdn::validateLaunch(m, l);
  (void)m.workspaceBytes(B, T, B);
  (void)m.workspaceBytes(B, T, B, m.segments);
  (void)gdn::segmentsFor(m, B, B * T, 132);
  return 0;
}
