//===- GdnDialect.cpp - the gdn dialect -----------------------------------===//
#include "gdn/Dialect/GdnDialect.h"
#include "gdn/Dialect/GdnOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::gdn;

#include "gdn/Dialect/GdnEnums.cpp.inc"
#include "gdn/Dialect/GdnOpsDialect.cpp.inc"
#define GET_ATTRDEF_CLASSES
#include "gdn/Dialect/GdnAttrs.cpp.inc"

void GdnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "gdn/Dialect/GdnOps.cpp.inc"
      >();
  addAttributes<
#define GET_ATTRDEF_LIST
#include "gdn/Dialect/GdnAttrs.cpp.inc"
      >();
}
