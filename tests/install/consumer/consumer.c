/* Uses the installed C API: version, errors without a GPU, argument checks by metadata. */
#include <gdn/gdn.h>

#include <stdio.h>
#include <string.h>

static const char *metadata =
    "kernel: layer_chunked\nlayer: gdn.recurrence\nkind: chunked\ngate: scalar\nrule: delta\n"
    "H: 2\nHV: 4\nK: 128\nV: 128\nblock_size: 128\nv_tile: 64\nshared_memory_bytes: 32768\n"
    "chunk_size: 16\nscale: 0.0883883461\nqk_l2norm: 1\nchip: sm_90a\ninput_type: bf16\n"
    "g_type: f32\nbeta_type: f32\ncu_seqlens_type: \nprep_kernel: layer_chunked_prep\n"
    "prep_block_size: 128\nprep_shared_memory_bytes: 10560\nworkspace_token_bytes: 320\n"
    "programmatic_launch: 1\nargs: q k v g beta o workspace T N\n";

static int failures = 0;
static void expect(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "consumer_c: FAILED: %s (last error: '%s')\n", what, gdn_last_error());
    ++failures;
  }
}

static gdn_tensor tensor(uintptr_t address, gdn_dtype dtype, int rank, int64_t d0, int64_t d1,
                         int64_t d2, int64_t d3) {
  gdn_tensor t;
  memset(&t, 0, sizeof t);
  t.data = (const void *)address;
  t.dtype = dtype;
  t.rank = rank;
  t.shape[0] = d0, t.shape[1] = d1, t.shape[2] = d2, t.shape[3] = d3;
  return t;
}

int main(void) {
  expect(strcmp(gdn_version(), GDN_VERSION_STRING) == 0, "gdn_version() matches the headers");
  gdn_kernel *kernel = NULL;
  expect(gdn_kernel_load(NULL, &kernel) == GDN_ERROR_INVALID_ARGUMENT, "NULL prefix refused");
  expect(gdn_kernel_load("/nonexistent/kernel", &kernel) == GDN_ERROR_IO &&
             strcmp(gdn_last_error(), "cannot open /nonexistent/kernel.meta") == 0,
         "a missing kernel file is an IO error naming it");

  gdn_layer_args args;
  memset(&args, 0, sizeof args);
  args.q = tensor(0x10000, GDN_DTYPE_BF16, 4, 2, 64, 2, 128);
  args.k = tensor(0x20000, GDN_DTYPE_BF16, 4, 2, 64, 2, 128);
  args.v = tensor(0x30000, GDN_DTYPE_BF16, 4, 2, 64, 4, 128);
  args.g = tensor(0x40000, GDN_DTYPE_F32, 3, 2, 64, 4, 0);
  args.beta = tensor(0x50000, GDN_DTYPE_F32, 3, 2, 64, 4, 0);
  args.o = tensor(0x60000, GDN_DTYPE_BF16, 4, 2, 64, 4, 128);
  expect(gdn_metadata_validate(metadata, &args) == GDN_OK, "a good launch validates");
  args.v.shape[2] = 2;
  expect(gdn_metadata_validate(metadata, &args) == GDN_ERROR_INVALID_ARGUMENT &&
             strcmp(gdn_last_error(),
                    "'v' has shape [2, 64, 2, 128], the kernel needs [2, 64, 4, 128]") == 0,
         "a wrong shape is refused with its message");
  if (failures)
    return 1;
  printf("consumer_c: gdn %s, C API OK\n", gdn_version());
  return 0;
}
