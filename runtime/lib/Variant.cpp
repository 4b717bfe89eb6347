//===- Variant.cpp - names of the recurrence families ----------------------===//
#include "gdn/Variant.h"

namespace gdn {

const char *toString(GateKind gate) {
  switch (gate) {
  case GateKind::None:
    return "none";
  case GateKind::Scalar:
    return "scalar";
  case GateKind::Channel:
    return "channel";
  }
  return "unknown";
}

const char *toString(UpdateRule rule) {
  switch (rule) {
  case UpdateRule::Additive:
    return "additive";
  case UpdateRule::Delta:
    return "delta";
  }
  return "unknown";
}

} // namespace gdn
