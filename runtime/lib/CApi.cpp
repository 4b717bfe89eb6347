//===- CApi.cpp - the C API over the C++ runtime --------------------------===//
#include "gdn/Runtime.h"
#include "gdn/gdn.h"

#include <new>
#include <string>

struct gdn_kernel {
  std::shared_ptr<gdn::Kernel> kernel;
  std::string metadataText;
};

namespace {

thread_local std::string lastError;

gdn_status report(const gdn::Status &s) {
  lastError = s.message;
  switch (s.code) {
  case gdn::Status::Code::Ok:
    return GDN_OK;
  case gdn::Status::Code::NoDriver:
    return GDN_ERROR_NO_DRIVER;
  case gdn::Status::Code::InvalidArgument:
    return GDN_ERROR_INVALID_ARGUMENT;
  case gdn::Status::Code::DriverError:
    return GDN_ERROR_DRIVER;
  case gdn::Status::Code::IoError:
    return GDN_ERROR_IO;
  }
  return GDN_ERROR_INVALID_ARGUMENT;
}

gdn_status invalid(const std::string &message) {
  return report(gdn::Status::error(gdn::Status::Code::InvalidArgument, message));
}

bool toTensor(const char *name, const gdn_tensor &in, gdn::TensorArg &out, std::string &error) {
  out = gdn::TensorArg();
  if (!in.data)
    return true;
  static const char *names[] = {"f32", "bf16", "f16", "i32", "i64"};
  if (in.dtype < GDN_DTYPE_F32 || in.dtype > GDN_DTYPE_I64) {
    error = std::string("'") + name + "' has an unknown dtype " + std::to_string(in.dtype);
    return false;
  }
  if (in.rank < 1 || in.rank > 4) {
    error = std::string("'") + name + "' has rank " + std::to_string(in.rank) + " (1 to 4)";
    return false;
  }
  out.data = in.data;
  out.elementType = names[in.dtype];
  out.shape.assign(in.shape, in.shape + in.rank);
  if (in.has_strides)
    out.strides.assign(in.strides, in.strides + in.rank);
  return true;
}

bool toLaunch(const gdn_layer_args *args, gdn::LayerLaunch &launch, std::string &error) {
  if (!args) {
    error = "args is NULL";
    return false;
  }
  launch.cuSeqlensHost = args->cu_seqlens_host;
  launch.workspace = args->workspace;
  launch.workspaceBytes = args->workspace_bytes;
  launch.segments = args->segments;
  return toTensor("q", args->q, launch.q, error) && toTensor("k", args->k, launch.k, error) &&
         toTensor("v", args->v, launch.v, error) && toTensor("g", args->g, launch.g, error) &&
         toTensor("beta", args->beta, launch.beta, error) &&
         toTensor("initial_state", args->initial_state, launch.initialState, error) &&
         toTensor("cu_seqlens", args->cu_seqlens, launch.cuSeqlens, error) &&
         toTensor("o", args->o, launch.o, error) &&
         toTensor("final_state", args->final_state, launch.finalState, error);
}

gdn_status wrap(std::shared_ptr<gdn::Kernel> kernel, gdn_kernel **out) {
  auto *handle = new (std::nothrow) gdn_kernel();
  if (!handle)
    return invalid("out of host memory");
  handle->metadataText = kernel->metadata().serialize();
  handle->kernel = std::move(kernel);
  *out = handle;
  lastError.clear();
  return GDN_OK;
}

} // namespace

gdn_kernel *gdn::makeCKernelHandle(std::shared_ptr<Kernel> kernel) {
  gdn_kernel *handle = nullptr;
  return wrap(std::move(kernel), &handle) == GDN_OK ? handle : nullptr;
}

int gdn::reportCStatus(const Status &status) { return report(status); }

extern "C" {

gdn_status gdn_kernel_load(const char *prefix, gdn_kernel **out) {
  if (!prefix || !out)
    return invalid("gdn_kernel_load: prefix and out must not be NULL");
  *out = nullptr;
  std::unique_ptr<gdn::Kernel> kernel;
  if (gdn::Status s = gdn::Kernel::loadFiles(prefix, kernel); !s)
    return report(s);
  return wrap(std::move(kernel), out);
}

gdn_status gdn_kernel_load_image(const void *image, size_t size, const char *metadata,
                                 gdn_kernel **out) {
  if (!image || !size || !metadata || !out)
    return invalid("gdn_kernel_load_image: image, size, metadata and out must be given");
  *out = nullptr;
  gdn::KernelMetadata meta;
  if (gdn::Status s = gdn::KernelMetadata::parse(metadata, meta); !s)
    return report(s);
  const char *bytes = static_cast<const char *>(image);
  std::unique_ptr<gdn::Kernel> kernel;
  if (gdn::Status s = gdn::Kernel::load(std::vector<char>(bytes, bytes + size), meta, kernel); !s)
    return report(s);
  return wrap(std::move(kernel), out);
}

gdn_status gdn_kernel_validate(const gdn_kernel *kernel, const gdn_layer_args *args) {
  if (!kernel)
    return invalid("gdn_kernel_validate: kernel is NULL");
  gdn::LayerLaunch launch;
  std::string error;
  if (!toLaunch(args, launch, error))
    return invalid(error);
  return report(kernel->kernel->validate(launch));
}

gdn_status gdn_metadata_validate(const char *metadata, const gdn_layer_args *args) {
  if (!metadata)
    return invalid("gdn_metadata_validate: metadata is NULL");
  gdn::KernelMetadata meta;
  if (gdn::Status s = gdn::KernelMetadata::parse(metadata, meta); !s)
    return report(s);
  gdn::LayerLaunch launch;
  std::string error;
  if (!toLaunch(args, launch, error))
    return invalid(error);
  return report(gdn::validateLaunch(meta, launch));
}

gdn_status gdn_kernel_workspace_size(const gdn_kernel *kernel, const gdn_layer_args *args,
                                     size_t *bytes) {
  if (!kernel || !bytes)
    return invalid("gdn_kernel_workspace_size: kernel and bytes must not be NULL");
  *bytes = 0;
  gdn::LayerLaunch launch;
  std::string error;
  if (!toLaunch(args, launch, error))
    return invalid(error);
  // The size is that of a valid launch: the same checks as gdn_kernel_launch first, with any
  // workspace in `args` left out (a caller may be asking because it is too small).
  gdn::LayerLaunch withoutWorkspace = launch;
  withoutWorkspace.workspace = nullptr;
  withoutWorkspace.workspaceBytes = 0;
  if (gdn::Status s = kernel->kernel->validate(withoutWorkspace); !s)
    return report(s);
  *bytes = kernel->kernel->workspaceBytes(launch);
  lastError.clear();
  return GDN_OK;
}

gdn_status gdn_kernel_launch(const gdn_kernel *kernel, const gdn_layer_args *args, void *stream) {
  if (!kernel)
    return invalid("gdn_kernel_launch: kernel is NULL");
  gdn::LayerLaunch launch;
  std::string error;
  if (!toLaunch(args, launch, error))
    return invalid(error);
  return report(kernel->kernel->launch(launch, stream));
}

gdn_status gdn_kernel_set_programmatic_launch(gdn_kernel *kernel, int enabled) {
  if (!kernel)
    return invalid("gdn_kernel_set_programmatic_launch: kernel is NULL");
  return report(kernel->kernel->setProgrammaticLaunch(enabled != 0));
}

void gdn_kernel_destroy(gdn_kernel *kernel) { delete kernel; }

const char *gdn_kernel_metadata(const gdn_kernel *kernel) {
  return kernel ? kernel->metadataText.c_str() : "";
}

const char *gdn_last_error(void) { return lastError.c_str(); }

const char *gdn_version(void) { return GDN_VERSION_STRING; }

} // extern "C"
