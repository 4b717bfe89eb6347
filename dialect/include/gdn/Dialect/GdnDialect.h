//===- GdnDialect.h - the gdn dialect ---------------------------*- C++ -*-===//
#ifndef GDN_DIALECT_GDNDIALECT_H
#define GDN_DIALECT_GDNDIALECT_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Dialect.h"

#include "gdn/Dialect/GdnOpsDialect.h.inc"

#include "gdn/Dialect/GdnEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "gdn/Dialect/GdnAttrs.h.inc"

#endif // GDN_DIALECT_GDNDIALECT_H
