//===- ChunkedForm.cpp - the split chunked form read as kernel input ------===//
//
// The chunked kernels are fragments for the tile ops of the six families' chunk programs
// (docs/gpu-kernels.md, "From the chunked form"): cumsum and the gated grams on tensor cores
// in the prep, unit_lower_inverse as the unit-column substitution, the step's products with
// S as the sliced or tiled state pass. Reading a function of the chunked form therefore has
// two halves: derive the layer facts from its tile ops, then check that the function is the
// program those facts give, op by op, so that an op no fragment implements (a variant
// written at the tile level, a hand edit) is reported where it is, not miscompiled.
//
//===----------------------------------------------------------------------===//
#include "ChunkedForm.h"
#include "GenericChunkedKernel.h"

#include "gdn/Passes/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::gdn;

namespace {

/// The layer's results: o, which the step writes, and the final state where the state after
/// the last chunk is stored (whether or not the function returns them).
struct Results {
  Type oType, finalStateType; // finalStateType: null without a final state
};

/// The facts the tile ops imply (chunkedFormFacts: the interface from the chunk loop's
/// gdn.operands, the rest read off the tile ops), or failure after a diagnostic.
LogicalResult deriveFacts(func::FuncOp fn, scf::ForOp step, StringRef pass, LayerFacts &f,
                          std::map<std::string, unsigned> &roles, Results &results) {
  bool hasQK = false;
  fn.walk([&](TileGatedGramOp gram) { hasQK |= gram.getDiagonal(); });
  if (!hasQK)
    return fn.emitError() << pass << ": the chunked form of " << fn.getName()
                          << " has no Q K^T product (gdn.tile.gated_gram {diagonal}) in its prep";
  FailureOr<LayerFacts> facts = chunkedFormFacts(fn);
  if (failed(facts))
    return failure();
  f = *facts;
  f.name = fn.getName().str() + "_chunked";
  roles = chunkedFormOperands(fn);
  results.oType = step.getResult(0).getType();
  for (Operation *user : step.getResult(1).getUsers())
    if (auto insert = dyn_cast<tensor::InsertSliceOp>(user))
      results.finalStateType = insert.getDest().getType();
  return success();
}

/// The layer op the facts describe, in a function with `fn`'s signature, as text.
std::string layerText(func::FuncOp fn, const LayerFacts &f,
                      const std::map<std::string, unsigned> &roles, const Results &r, int64_t C) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "func.func @" << fn.getName() << "(";
  for (BlockArgument a : fn.getArguments())
    os << (a.getArgNumber() ? ", " : "") << "%a" << a.getArgNumber() << ": " << a.getType();
  os << ") -> (";
  for (auto [i, t] : llvm::enumerate(fn.getResultTypes()))
    os << (i ? ", " : "") << t;
  SmallVector<Type> results = {r.oType};
  if (r.finalStateType)
    results.push_back(r.finalStateType);
  os << ") {\n  %r:" << results.size() << " = gdn.recurrence <" << stringifyGateKind(f.gate) << ", "
     << stringifyUpdateRule(f.rule) << ">";
  for (const char *role : kLayerOperandRoles) // in the op's syntax order
    if (auto it = roles.find(role); it != roles.end())
      os << " " << role << "(%a" << it->second << " : " << fn.getArgument(it->second).getType()
         << ")";
  Builder b(fn.getContext());
  os << " {chunk_size = " << C << " : i64, scale = " << b.getF32FloatAttr(f.scale)
     << (f.qkL2norm ? ", qk_l2norm" : "") << "} -> ";
  for (auto [i, t] : llvm::enumerate(results))
    os << (i ? ", " : "") << t;
  // The function returns the layer's results in order (or none of them).
  os << "\n  return";
  for (unsigned i = 0; i < fn.getNumResults(); ++i)
    os << (i ? ", " : " ") << "%r#" << i;
  if (fn.getNumResults())
    os << " : ";
  for (auto [i, t] : llvm::enumerate(fn.getResultTypes()))
    os << (i ? ", " : "") << t;
  os << "\n}\n";
  return s;
}

/// Ops of `op`'s regions in pre-order.
SmallVector<Operation *> preorder(Operation *op) {
  SmallVector<Operation *> ops;
  op->walk<WalkOrder::PreOrder>([&](Operation *o) {
    if (o != op)
      ops.push_back(o);
  });
  return ops;
}

/// The first op of `given` that differs from `expected` (by name, attributes, types or
/// operands, with values matched by position), or null when they are the same program.
/// `*expectedAt` is the op expected in its place (null where `given` has an extra op), `why`
/// says what differs.
Operation *firstDifference(func::FuncOp given, func::FuncOp expected, Operation **expectedAt,
                           std::string &why) {
  SmallVector<Operation *> a = preorder(given), b = preorder(expected);
  IRMapping map;
  for (auto [x, y] : llvm::zip(given.getArguments(), expected.getArguments()))
    map.map(x, y);
  for (size_t i = 0; i < a.size(); ++i) {
    *expectedAt = i < b.size() ? b[i] : nullptr;
    if (i >= b.size()) {
      why = "an op past the end of the program";
      return a[i];
    }
    Operation *x = a[i], *y = b[i];
    if (x->getName() != y->getName())
      why = "another op";
    else if (x->getAttrDictionary() != y->getAttrDictionary())
      why = "other attributes";
    else if (x->getResultTypes() != y->getResultTypes())
      why = "other result types";
    else if (x->getNumOperands() != y->getNumOperands() || x->getNumRegions() != y->getNumRegions())
      why = "another number of operands or regions";
    else if (llvm::any_of(llvm::zip(x->getOperands(), y->getOperands()), [&](auto p) {
               return map.lookupOrNull(std::get<0>(p)) != std::get<1>(p);
             }))
      why = "other operands";
    if (!why.empty())
      return x;
    for (auto [rx, ry] : llvm::zip(x->getRegions(), y->getRegions())) {
      if (rx.getBlocks().size() != ry.getBlocks().size()) {
        why = "another number of blocks";
        return x;
      }
      for (auto [bx, by] : llvm::zip(rx.getBlocks(), ry.getBlocks())) {
        if (bx.getNumArguments() != by.getNumArguments()) {
          why = "another number of block arguments";
          return x;
        }
        for (auto [u, w] : llvm::zip(bx.getArguments(), by.getArguments()))
          map.map(u, w);
      }
    }
    map.map(x->getResults(), y->getResults());
  }
  *expectedAt = a.size() < b.size() ? b[a.size()] : nullptr;
  why = "fewer ops than the program";
  return a.size() < b.size() ? given.getOperation() : nullptr;
}

/// Canonicalizes `module`'s one function, made to return everything its outermost loops
/// compute first: a layer whose results the function drops would otherwise fold away, and an
/// edit to it would compare equal to anything.
LogicalResult canonicalize(ModuleOp module) {
  auto fn = cast<func::FuncOp>(module.getBody()->front());
  Block &body = fn.getBody().front();
  SmallVector<Value> results;
  for (auto loop : body.getOps<scf::ForOp>())
    results.append(loop.getResults().begin(), loop.getResults().end());
  Operation *ret = body.getTerminator();
  OpBuilder b(ret);
  func::ReturnOp::create(b, ret->getLoc(), results);
  ret->erase();
  fn.setType(b.getFunctionType(fn.getArgumentTypes(), ValueRange(results).getTypes()));
  PassManager pm(module.getContext());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  return pm.run(module);
}

} // namespace

FailureOr<ChunkedForm> mlir::gdn::readChunkedForm(func::FuncOp fn, StringRef pass,
                                                  bool *noFragment) {
  if (failed(refuseTransitions(fn, pass)))
    return failure();
  SmallVector<scf::ForOp> steps;
  SmallVector<scf::ForallOp> preps;
  Operation *unsplit = nullptr;
  fn.walk([&](Operation *op) {
    if (op->hasAttr("gdn.chunk_loop"))
      unsplit = op;
    if (auto s = dyn_cast<scf::ForOp>(op); s && s->hasAttr("gdn.chunk_step"))
      steps.push_back(s);
    if (auto p = dyn_cast<scf::ForallOp>(op); p && p->hasAttr("gdn.chunk_prep"))
      preps.push_back(p);
  });
  if (unsplit) {
    auto C = unsplit->getAttrOfType<IntegerAttr>("gdn.chunk_loop");
    if (C && C.getInt() == 1)
      return unsplit->emitError()
                 << pass << ": only gdn.recurrence has a chunked kernel (decode steps use the "
                 << "recurrent one)",
             failure();
    return unsplit->emitError() << pass
                                << ": this chunk loop is not split; run gdn-split-chunk-loop "
                                   "first (the kernels are its prep and its step)",
           failure();
  }
  SmallVector<Operation *> stepOps(steps.begin(), steps.end()), prepOps(preps.begin(), preps.end());
  if (failed(checkOneLayerPerFunction(stepOps, pass, "gdn.chunk_step loop")) ||
      failed(checkOneLayerPerFunction(prepOps, pass, "gdn.chunk_prep forall")))
    return failure();
  if (steps.size() != 1 || preps.size() != 1)
    return fn.emitError() << pass << ": a function of the chunked form must hold one layer "
                          << "(one gdn.chunk_prep forall and one gdn.chunk_step loop), "
                          << fn.getName() << " holds " << preps.size() << " and " << steps.size(),
           failure();
  ChunkedForm form{LayerFacts(), 0, steps.front().getLoc()};
  auto C = steps.front()->getAttrOfType<IntegerAttr>("gdn.chunk_step");
  if (!C)
    return steps.front().emitError() << pass << ": gdn.chunk_step must be the chunk size",
           failure();
  form.chunkSize = C.getInt();
  std::map<std::string, unsigned> roles;
  Results results;
  if (noFragment)
    *noFragment = true; // from here on, failing means the program is not a fragment's
  if (failed(deriveFacts(fn, steps.front(), pass, form.facts, roles, results)))
    return failure();

  // The program those facts give, and the function itself, both canonicalized.
  MLIRContext *context = fn.getContext();
  std::string text = layerText(fn, form.facts, roles, results, form.chunkSize);
  std::string parseErrors;
  OwningOpRef<ModuleOp> expected;
  {
    ScopedDiagnosticHandler capture(context, [&](Diagnostic &diag) {
      parseErrors += (parseErrors.empty() ? "" : "; ") + diag.str();
      return success();
    });
    expected = parseSourceString<ModuleOp>(text, context);
  }
  if (!expected)
    return emitError(form.loc) << pass << ": the layer these tile ops describe (<"
                               << stringifyGateKind(form.facts.gate) << ", "
                               << stringifyUpdateRule(form.facts.rule)
                               << ">) does not verify: " << parseErrors,
           failure();
  PassManager pm(context);
  GdnChunkwiseOptions chunkwise;
  chunkwise.chunkSize = form.chunkSize;
  pm.addPass(createGdnChunkwise(chunkwise));
  pm.addPass(createGdnSplitChunkLoop());
  if (failed(pm.run(*expected)))
    return emitError(form.loc) << pass << ": could not rebuild the chunk program of this layer",
           failure();
  auto expectedFn = cast<func::FuncOp>(expected->getBody()->front());
  Operation *expectedAt = nullptr;
  std::string why;
  if (!firstDifference(fn, expectedFn, &expectedAt, why)) {
    if (noFragment)
      *noFragment = false;
    return form;
  }
  // Not as the passes wrote it: perhaps canonicalized or cse'd since, so compare both
  // canonicalized (and report the difference there).
  OwningOpRef<ModuleOp> given = ModuleOp::create(fn.getLoc());
  given->getBody()->push_back(fn.clone());
  if (failed(canonicalize(*given)) || failed(canonicalize(*expected)))
    return emitError(form.loc) << pass << ": canonicalizing the chunked form failed", failure();
  auto givenFn = cast<func::FuncOp>(given->getBody()->front());
  expectedFn = cast<func::FuncOp>(expected->getBody()->front());
  why.clear();
  if (Operation *diff = firstDifference(givenFn, expectedFn, &expectedAt, why)) {
    InFlightDiagnostic d = emitError(diff->getLoc())
                           << pass << ": no kernel fragment for this "
                           << (diff == givenFn.getOperation() ? "function's end"
                                                              : diff->getName().getStringRef())
                           << " (" << why
                           << "): the chunked kernels implement the tile program of <"
                           << stringifyGateKind(form.facts.gate) << ", "
                           << stringifyUpdateRule(form.facts.rule) << ">"
                           << (form.facts.qkL2norm ? " with qk_l2norm" : "")
                           << " as gdn-chunkwise and gdn-split-chunk-loop write it";
    if (expectedAt) {
      std::string text;
      llvm::raw_string_ostream os(text);
      expectedAt->print(os, OpPrintingFlags().skipRegions().elideLargeElementsAttrs());
      d << ", which has here: " << text;
    }
    return failure();
  }
  if (noFragment)
    *noFragment = false;
  return form;
}
