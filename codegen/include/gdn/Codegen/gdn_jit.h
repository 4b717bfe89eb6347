/*===- gdn_jit.h - C API of the gdn JIT ------------------------------------===*
 *
 * Compiles a layer's .mlir text to a launchable gdn_kernel (see gdn/gdn.h) in process,
 * through the memory and disk caches of gdn::jit. Links MLIR.
 *
 *===----------------------------------------------------------------------===*/
#ifndef GDN_GDN_JIT_H
#define GDN_GDN_JIT_H

#include "gdn/gdn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* chip: NULL for sm_90a. cache_dir: NULL for the default ($GDN_CACHE_DIR, else
 * $XDG_CACHE_HOME/gdn, else ~/.cache/gdn). */
gdn_status gdn_jit_compile(const char *layer_mlir, const char *chip, const char *cache_dir,
                           gdn_kernel **out);

#ifdef __cplusplus
}
#endif

#endif /* GDN_GDN_JIT_H */
