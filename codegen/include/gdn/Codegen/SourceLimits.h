//===- SourceLimits.h - input that gdn refuses before parsing ----*- C++ -*-===//
//
// MLIR's parser recurses once per level of nested brackets (types, attributes, regions), once
// per unary minus and once per binary operator of an affine expression, with no limit: such a
// file exhausts an 8 MB stack (found by fuzzing tests/fuzz's gdn_opt target; upstream mlir-opt
// dies the same way). Every entry point that parses a user's text (gdn-opt, the JIT and
// gdn-compile, gdn-run) therefore (1) refuses, with the location, bracket nesting deeper than
// any real layer needs, and (2) parses and compiles on a thread whose stack grows with the
// input (each level of recursion consumes at least one byte of it).
//
//===----------------------------------------------------------------------===//
#ifndef GDN_CODEGEN_SOURCELIMITS_H
#define GDN_CODEGEN_SOURCELIMITS_H

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

namespace mlir::gdn {

/// Deepest nesting of (, [, { and < accepted (the project's own files stay under 20).
constexpr int kMaxSourceNesting = 256;

/// "" when `text` nests brackets at most kMaxSourceNesting deep (strings and comments do not
/// count); else "<name>:<line>:<column>: error: ..." at the bracket that goes too deep.
std::string checkSourceNesting(std::string_view text, const std::string &name);

/// Stack bytes for parsing and compiling `inputBytes` of text: 64 MB plus 4 kB per input byte,
/// at most 3.5 GB (virtual: pages are committed only when touched).
unsigned stackBytesForInput(size_t inputBytes);

/// Runs `work` on a thread with stackBytesForInput(inputBytes) of stack and waits for it.
void runWithStackForInput(size_t inputBytes, const std::function<void()> &work);

} // namespace mlir::gdn

#endif // GDN_CODEGEN_SOURCELIMITS_H
