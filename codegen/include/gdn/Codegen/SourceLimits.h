//===- SourceLimits.h - input that gdn refuses before parsing ----*- C++ -*-===//
//
// MLIR's parser recurses once per level of nested brackets (types, attributes, regions) and
// has no limit: a file nested some thousands deep exhausts the stack (found by fuzzing
// tests/fuzz's gdn_opt target). Every entry point that parses a user's text (gdn-opt, the
// JIT and gdn-compile, gdn-run) checks it here first and refuses, with the location, a
// nesting deeper than any real layer needs.
//
//===----------------------------------------------------------------------===//
#ifndef GDN_CODEGEN_SOURCELIMITS_H
#define GDN_CODEGEN_SOURCELIMITS_H

#include <string>
#include <string_view>

namespace mlir::gdn {

/// Deepest nesting of (, [, { and < accepted (the project's own files stay under 20).
constexpr int kMaxSourceNesting = 256;

/// "" when `text` nests brackets at most kMaxSourceNesting deep (strings and comments do not
/// count); else "<name>:<line>:<column>: error: ..." at the bracket that goes too deep.
std::string checkSourceNesting(std::string_view text, const std::string &name);

} // namespace mlir::gdn

#endif // GDN_CODEGEN_SOURCELIMITS_H
