//===- SourceLimits.cpp - input that gdn refuses before parsing ------------===//
#include "gdn/Codegen/SourceLimits.h"

#include "llvm/Support/thread.h"

#include <algorithm>
#include <cstdint>

std::string mlir::gdn::checkSourceNesting(std::string_view text, const std::string &name) {
  int depth = 0;
  size_t line = 1, column = 1;
  for (size_t i = 0; i < text.size(); ++i, ++column) {
    char c = text[i];
    if (c == '\n') {
      ++line;
      column = 0;
    } else if (c == '"') { // a string literal, with escapes
      for (++i, ++column; i < text.size() && text[i] != '"'; ++i, ++column) {
        if (text[i] == '\\')
          ++i, ++column;
        else if (text[i] == '\n')
          ++line, column = 0;
      }
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') { // a comment
      while (i + 1 < text.size() && text[i + 1] != '\n')
        ++i;
    } else if (c == '(' || c == '[' || c == '{' || c == '<') {
      if (++depth > kMaxSourceNesting)
        return name + ":" + std::to_string(line) + ":" + std::to_string(column) +
               ": error: brackets nested more than " + std::to_string(kMaxSourceNesting) +
               " deep; gdn refuses such input (MLIR's parser would recurse once per level and "
               "could exhaust the stack)";
    } else if (c == ')' || c == ']' || c == '}' || (c == '>' && (i == 0 || text[i - 1] != '-'))) {
      depth = depth > 0 ? depth - 1 : 0;
    }
  }
  return "";
}

unsigned mlir::gdn::stackBytesForInput(size_t inputBytes) {
  const uint64_t cap = uint64_t(7) << 29; // 3.5 GB
  uint64_t want = (uint64_t(64) << 20) + uint64_t(4096) * std::min<uint64_t>(inputBytes, cap);
  return static_cast<unsigned>(std::min(want, cap));
}

void mlir::gdn::runWithStackForInput(size_t inputBytes, const std::function<void()> &work) {
  llvm::thread worker(std::optional<unsigned>(stackBytesForInput(inputBytes)), [&] { work(); });
  worker.join();
}
