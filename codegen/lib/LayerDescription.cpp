//===- LayerDescription.cpp - a layer described in C++ --------------------===//
#include "gdn/Codegen/LayerDescription.h"

#include <iomanip>
#include <locale>
#include <sstream>
#include <vector>

namespace gdn {

std::string LayerDescription::toMlir() const {
  std::string b = decode ? "?" : (varlen ? "1" : "?");
  std::string t = decode ? std::to_string(decodeTokens) : "?";
  auto tensor = [](std::initializer_list<std::string> dims, const std::string &elt) {
    std::string s = "tensor<";
    for (const std::string &d : dims)
      s += d + "x";
    return s + elt + ">";
  };
  std::string h = std::to_string(H), hv = std::to_string(HV), k = std::to_string(K),
              v = std::to_string(V);
  std::string qT = tensor({b, t, h, k}, inputType), vT = tensor({b, t, hv, v}, inputType);
  std::string gT =
      gate == GateKind::Channel ? tensor({b, t, hv, k}, "f32") : tensor({b, t, hv}, "f32");
  std::string betaT = tensor({b, t, hv}, "f32"), sT = tensor({"?", hv, k, v}, "f32");
  std::ostringstream os;
  os.imbue(std::locale::classic()); // not the host's global locale
  os << "func.func @layer(%q: " << qT << ", %k: " << qT << ", %v: " << vT << ", %g: " << gT
     << ", %beta: " << betaT << ", %s: " << sT << ", %cu: tensor<?xi32>) {\n  "
     << (decode || finalState ? "%o, %s1 = " : "%o = ")
     << (decode ? "gdn.decode" : "gdn.recurrence") << " <" << toString(gate) << ", "
     << toString(rule) << "> q(%q : " << qT << ") k(%k : " << qT << ") v(%v : " << vT << ")";
  if (gate != GateKind::None)
    os << " g(%g : " << gT << ")";
  if (rule == UpdateRule::Delta)
    os << " beta(%beta : " << betaT << ")";
  if (decode)
    os << " state(%s : " << sT << ")";
  else if (initialState)
    os << " initial_state(%s : " << sT << ")";
  if (varlen)
    os << " cu_seqlens(%cu : tensor<?xi32>)";
  std::vector<std::string> attrs;
  if (!extraAttributes.empty())
    attrs.push_back(extraAttributes);
  if (qkL2norm)
    attrs.push_back("qk_l2norm");
  if (allowNegEigval)
    attrs.push_back("allow_neg_eigval");
  if (scale > 0) {
    std::ostringstream sc;
    sc.imbue(std::locale::classic()); // not the host's global locale
    sc << std::setprecision(9) << scale;
    attrs.push_back("scale = " + sc.str() + " : f32");
  }
  if (!attrs.empty()) {
    os << " {";
    for (size_t i = 0; i < attrs.size(); ++i)
      os << (i ? ", " : "") << attrs[i];
    os << "}";
  }
  os << " -> " << vT << (decode || finalState ? ", " + sT : "") << "\n  return\n}\n";
  return os.str();
}

} // namespace gdn
