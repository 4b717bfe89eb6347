/*===- gdn.h - C API of the gdn runtime ------------------------------------===*
 *
 * For FFI from Python (ctypes), Rust and others. Every call returns a gdn_status;
 * gdn_last_error() gives the message of the last failed call on the calling thread.
 * Launches are asynchronous on the given CUstream and capturable into CUDA graphs.
 *
 *===----------------------------------------------------------------------===*/
#ifndef GDN_GDN_H
#define GDN_GDN_H

#include "gdn/version.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gdn_status {
  GDN_OK = 0,
  GDN_ERROR_NO_DRIVER = 1,        /* no libcuda, or no usable GPU */
  GDN_ERROR_INVALID_ARGUMENT = 2, /* a bad pointer, shape, dtype, stride or offset */
  GDN_ERROR_DRIVER = 3,           /* a CUDA driver call failed (the message names it) */
  GDN_ERROR_IO = 4                /* a kernel or metadata file cannot be read */
} gdn_status;

typedef enum gdn_dtype {
  GDN_DTYPE_F32 = 0,
  GDN_DTYPE_BF16 = 1,
  GDN_DTYPE_F16 = 2,
  GDN_DTYPE_I32 = 3,
  GDN_DTYPE_I64 = 4
} gdn_dtype;

/* A device tensor. data == NULL means absent. Strides are in elements and only read when
 * has_strides is nonzero; kernels need C-contiguous tensors. */
typedef struct gdn_tensor {
  const void *data;
  gdn_dtype dtype;
  int32_t rank;
  int64_t shape[4];
  int32_t has_strides;
  int64_t strides[4];
} gdn_tensor;

/* The tensors of one layer launch (the layout of the gdn dialect: q, k [B, T, H, K];
 * v, o [B, T, HV, V]; g [B, T, HV] or [B, T, HV, K]; beta [B, T, HV]; states
 * [N, HV, K, V] f32; cu_seqlens [N + 1]). cu_seqlens_host, when not NULL, is a host copy of
 * the N + 1 offsets that is checked before launching. */
typedef struct gdn_layer_args {
  gdn_tensor q, k, v, g, beta, initial_state, cu_seqlens, o, final_state;
  const int64_t *cu_seqlens_host;
  /* Device scratch for kernels that need one (gdn_kernel_workspace_size; 16-byte aligned).
   * NULL: the kernel uses one it owns per stream, grown on an eager launch. Pass your own to
   * capture a first launch into a CUDA graph. */
  void *workspace;
  size_t workspace_bytes;
  /* Kernels with a segmented state pass: the segments to run (1 .. the kernel's most); 0, the
   * kernel's choice from the shape. Must be 0 or 1 for other kernels. The workspace size
   * (gdn_kernel_workspace_size) depends on it. */
  int64_t segments;
} gdn_layer_args;

typedef struct gdn_kernel gdn_kernel;

/* Loads <prefix>.meta with <prefix>.cubin (preferred) or <prefix>.ptx. */
gdn_status gdn_kernel_load(const char *prefix, gdn_kernel **out);
/* Loads an in-memory PTX or cubin image with its metadata text. */
gdn_status gdn_kernel_load_image(const void *image, size_t size, const char *metadata,
                                 gdn_kernel **out);
/* Checks the arguments against the kernel without touching the GPU. */
gdn_status gdn_kernel_validate(const gdn_kernel *kernel, const gdn_layer_args *args);
/* Workspace bytes a launch with these arguments needs (0 when the kernel needs none). */
gdn_status gdn_kernel_workspace_size(const gdn_kernel *kernel, const gdn_layer_args *args,
                                     size_t *bytes);
/* Validates, then launches asynchronously on stream (a CUstream; NULL: the default stream). */
gdn_status gdn_kernel_launch(const gdn_kernel *kernel, const gdn_layer_args *args, void *stream);
/* Programmatic dependent launch (default on where the kernel was compiled for it, sm_90+):
 * the layer's kernels may be scheduled once the previous kernel on the stream has retired its
 * blocks; they wait for it before touching memory. enabled = 0 turns it off; 1 on a kernel
 * compiled without it is an error. */
gdn_status gdn_kernel_set_programmatic_launch(gdn_kernel *kernel, int enabled);
void gdn_kernel_destroy(gdn_kernel *kernel);

/* Checks the arguments against a kernel's metadata record (the text of a .meta file, or
 * gdn_kernel_metadata's) without a kernel, a driver or a GPU: what gdn_kernel_validate and
 * gdn_kernel_launch check, for callers that validate ahead of time. */
gdn_status gdn_metadata_validate(const char *metadata, const gdn_layer_args *args);

/* The library's version, "MAJOR.MINOR.PATCH" (GDN_VERSION_STRING of the headers it was built
 * with; compare with the headers you compile against). */
const char *gdn_version(void);

/* The kernel's metadata record ("key: value" lines); owned by the kernel. */
const char *gdn_kernel_metadata(const gdn_kernel *kernel);
/* The message of the last failed call on this thread ("" if none). */
const char *gdn_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* GDN_GDN_H */
