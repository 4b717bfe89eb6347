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

#include "gdn/Passes/Passes.h"

#include "mlir/IR/IRMapping.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::gdn;

namespace {

/// The function argument a chunk tile was read from, through the row-wise tile ops, element
/// conversions and slices on its way; null if it does not come from one argument.
BlockArgument argumentOf(Value v) {
  while (v) {
    if (auto arg = dyn_cast<BlockArgument>(v))
      return isa<func::FuncOp>(arg.getOwner()->getParentOp()) ? arg : BlockArgument();
    Operation *def = v.getDefiningOp();
    if (isa<tensor::ExtractSliceOp, tensor::ExtractOp, arith::ExtFOp, arith::IndexCastOp,
            TileRowScaleOp, TileL2NormRowsOp, TileGateRowsOp>(def))
      v = def->getOperand(0);
    else
      return BlockArgument();
  }
  return BlockArgument();
}

/// The chunk tile read from an input that `v` was made from by row-wise ops (the read's
/// extract_slice result), or null.
Value tileRead(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (isa<tensor::ExtractSliceOp>(def))
      return v;
    if (!isa<arith::ExtFOp, TileRowScaleOp, TileL2NormRowsOp, TileGateRowsOp>(def))
      return Value();
    v = def->getOperand(0);
  }
  return Value();
}

/// The roles of a layer's operands among the function's arguments.
struct Roles {
  BlockArgument q, k, v, g, beta, initialState, cuSeqlens;
  Type oType, finalStateType; // finalStateType: null without a final state
};

/// The facts the tile ops of `prep` and `step` imply, or failure after a diagnostic.
LogicalResult deriveFacts(func::FuncOp fn, scf::ForallOp prep, scf::ForOp step, StringRef pass,
                          LayerFacts &f, Roles &roles) {
  auto missing = [&](StringRef what) {
    return fn.emitError() << pass << ": the chunked form of " << fn.getName() << " has no " << what;
  };
  TileGatedGramOp qkg;
  TileCumsumOp cumsum;
  TileUnitLowerInverseOp inverse;
  bool norms = false;
  prep.walk([&](Operation *op) {
    if (auto gram = dyn_cast<TileGatedGramOp>(op); gram && gram.getDiagonal() && !qkg)
      qkg = gram;
    if (auto c = dyn_cast<TileCumsumOp>(op); c && !cumsum)
      cumsum = c;
    if (auto t = dyn_cast<TileUnitLowerInverseOp>(op); t && !inverse)
      inverse = t;
    norms |= isa<TileL2NormRowsOp>(op);
  });
  if (!qkg)
    return missing("Q K^T product (gdn.tile.gated_gram {diagonal}) in its prep");
  roles.q = argumentOf(qkg.getA());
  roles.k = argumentOf(qkg.getB());
  if (!roles.q || !roles.k)
    return qkg.emitError() << pass << ": the operands of the Q K^T product must be chunk tiles "
                           << "of the function's q and k arguments";
  f.gate = !cumsum ? GateKind::None
                   : (cast<RankedTensorType>(cumsum.getType()).getRank() == 1 ? GateKind::Scalar
                                                                              : GateKind::Channel);
  f.rule = inverse ? UpdateRule::Delta : UpdateRule::Additive;
  f.qkL2norm = norms;
  if (cumsum && !(roles.g = argumentOf(cumsum.getG())))
    return cumsum.emitError() << pass << ": the gates must be chunk tiles of an argument";

  // The scale rides on Q (a row_scale with no per-row factor); beta on V (a row_scale by it).
  f.scale = 1.0f;
  SmallVector<TileMatmulOp> products;
  prep.walk([&](Operation *op) {
    if (auto rs = dyn_cast<TileRowScaleOp>(op)) {
      if (!rs.getR() && argumentOf(rs.getX()) == roles.q)
        f.scale = rs.getFactor().convertToFloat();
      if (rs.getR() && !roles.beta)
        roles.beta = argumentOf(rs.getR());
    }
    if (auto mm = dyn_cast<TileMatmulOp>(op))
      products.push_back(mm);
  });
  // V: the right operand of the intra-chunk product (additive: QKg V) or of Tm's product that
  // is not with K (delta: U = Tm (beta V)).
  // Matched by the tile read, not the argument: q, k and v may be one tensor.
  Value from = inverse ? inverse.getResult() : qkg.getResult();
  Value kRead = tileRead(qkg.getB());
  for (TileMatmulOp mm : products)
    if (mm.getA() == from && !mm.getTransposeA() && tileRead(mm.getB()) != kRead)
      roles.v = argumentOf(mm.getB());
  if (!roles.v) {
    // The additive rule without gates keeps V's product with QKg in the prep only if it is
    // S-independent, which it always is; a missing one means V is used differently.
    return missing("product of the chunk's values with " +
                   std::string(inverse ? "(I + A)^-1" : "Q K^T") + " in its prep");
  }
  fn.walk([&](tensor::ExtractOp e) {
    if (BlockArgument a = argumentOf(e.getTensor()); a && !roles.cuSeqlens)
      roles.cuSeqlens = a;
  });
  Value state0 = step.getInitArgs()[1];
  if (auto slice = state0.getDefiningOp<tensor::ExtractSliceOp>())
    roles.initialState = argumentOf(slice.getSource());
  // The layer's results: o, which the step writes, and the final state where the state after
  // the last chunk is stored (whether or not the function returns them).
  roles.oType = step.getResult(0).getType();
  for (Operation *user : step.getResult(1).getUsers())
    if (auto insert = dyn_cast<tensor::InsertSliceOp>(user))
      roles.finalStateType = insert.getDest().getType();

  auto qType = cast<RankedTensorType>(roles.q.getType());
  auto vType = cast<RankedTensorType>(roles.v.getType());
  if (qType.getRank() != 4 || vType.getRank() != 4)
    return fn.emitError() << pass << ": q and v of the chunked form must be rank-4 tensors";
  f.name = fn.getName().str() + "_chunked";
  f.H = qType.getDimSize(2);
  f.K = qType.getDimSize(3);
  f.HV = vType.getDimSize(2);
  f.V = vType.getDimSize(3);
  f.inputType = qType.getElementType();
  f.gType = roles.g ? elementTypeOf(roles.g) : Type();
  f.betaType = roles.beta ? elementTypeOf(roles.beta) : Type();
  f.cuType = roles.cuSeqlens ? elementTypeOf(roles.cuSeqlens) : Type();
  f.hasBeta = static_cast<bool>(roles.beta);
  f.varlen = static_cast<bool>(roles.cuSeqlens);
  f.hasInitialState = static_cast<bool>(roles.initialState);
  f.hasFinalState = static_cast<bool>(roles.finalStateType);
  return success();
}

/// The layer op the facts describe, in a function with `fn`'s signature, as text.
std::string layerText(func::FuncOp fn, const LayerFacts &f, const Roles &roles, int64_t C) {
  std::string s;
  llvm::raw_string_ostream os(s);
  auto arg = [&](StringRef keyword, BlockArgument a) {
    if (a)
      os << " " << keyword << "(%a" << a.getArgNumber() << " : " << a.getType() << ")";
  };
  os << "func.func @" << fn.getName() << "(";
  for (BlockArgument a : fn.getArguments())
    os << (a.getArgNumber() ? ", " : "") << "%a" << a.getArgNumber() << ": " << a.getType();
  os << ") -> (";
  for (auto [i, t] : llvm::enumerate(fn.getResultTypes()))
    os << (i ? ", " : "") << t;
  SmallVector<Type> results = {roles.oType};
  if (roles.finalStateType)
    results.push_back(roles.finalStateType);
  os << ") {\n  %r:" << results.size() << " = gdn.recurrence <" << stringifyGateKind(f.gate) << ", "
     << stringifyUpdateRule(f.rule) << ">";
  arg("q", roles.q);
  arg("k", roles.k);
  arg("v", roles.v);
  arg("g", roles.g);
  arg("beta", roles.beta);
  arg("initial_state", roles.initialState);
  arg("cu_seqlens", roles.cuSeqlens);
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

bool mlir::gdn::holdsChunkedForm(func::FuncOp fn) {
  bool found = false;
  fn.walk([&](Operation *op) {
    found |= op->hasAttr("gdn.chunk_step") || op->hasAttr("gdn.chunk_loop") ||
             op->hasAttr("gdn.chunk_prep");
  });
  return found;
}

FailureOr<ChunkedForm> mlir::gdn::readChunkedForm(func::FuncOp fn, StringRef pass,
                                                  bool *noFragment) {
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
  Roles roles;
  if (noFragment)
    *noFragment = true; // from here on, failing means the program is not a fragment's
  if (failed(deriveFacts(fn, preps.front(), steps.front(), pass, form.facts, roles)))
    return failure();

  // The program those facts give, and the function itself, both canonicalized.
  MLIRContext *context = fn.getContext();
  std::string text = layerText(fn, form.facts, roles, form.chunkSize);
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
