// Input nested deeper than MLIR's recursive parser can take (upstream mlir-opt dies of a stack
// overflow on it; found by fuzzing) is refused, with its location, by every tool that parses
// a user's text: gdn-opt (file and standard input), gdn-compile and the JIT, gdn-run.
// RUN: %python -c "print('func.func @f(' + '(' * 100000 + ')' * 100000 + ') { return }')" > %t.mlir
// RUN: not gdn-opt %t.mlir 2>&1 | FileCheck %s --check-prefix=FILE
// RUN: not gdn-opt < %t.mlir 2>&1 | FileCheck %s --check-prefix=STDIN
// RUN: not gdn-compile %t.mlir -o %t.out 2>&1 | FileCheck %s --check-prefix=TOOL
// RUN: not gdn-run %t.mlir --describe 2>&1 | FileCheck %s --check-prefix=TOOL
// Nesting within the limit still parses (and this example says what is wrong with it).
// RUN: %python -c "print('func.func @f(' + '(' * 200 + ')' * 200 + ') { return }')" > %t.ok.mlir
// RUN: not gdn-opt %t.ok.mlir 2>&1 | FileCheck %s --check-prefix=SHALLOW

// FILE: deep-nesting.mlir.tmp.mlir:1:269: error: brackets nested more than 256 deep; gdn refuses such input
// STDIN: <stdin>:1:269: error: brackets nested more than 256 deep
// TOOL: :1:269: error: brackets nested more than 256 deep
// SHALLOW: error: expected '->' in function type
// Other recursion of MLIR's parser (one level per unary minus, per affine binary operator)
// runs on a stack that grows with the input: no crash, the file parses.
// RUN: %python -c "print('#m = affine_map<(d0) -> (' + '-' * 1000000 + 'd0)>')" > %t.neg.mlir
// RUN: gdn-opt %t.neg.mlir | FileCheck %s --check-prefix=NEG
// RUN: %python -c "print('#m = affine_map<(d0) -> (' + ' + '.join(['d0'] * 200000) + ')>')" > %t.plus.mlir
// RUN: gdn-opt %t.plus.mlir | FileCheck %s --check-prefix=NEG
// RUN: not gdn-compile %t.neg.mlir -o %t.out 2>&1 | FileCheck %s --check-prefix=NOLAYER
// NEG: module
// NOLAYER: expected exactly one gdn.recurrence or gdn.decode op
