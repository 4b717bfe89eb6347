//===- Metadata.cpp - the kernel metadata record: serialise, parse, check -===//
//
// The record gdn-compile writes next to each kernel (KernelMetadata in gdn/Runtime.h): "key:
// value" lines. parse() refuses unknown keys and inconsistent records with the line of the
// first problem.
//
//===----------------------------------------------------------------------===//
#include "gdn/Runtime.h"

#include <locale>
#include <sstream>

namespace gdn {

bool KernelMetadata::hasArg(const std::string &name) const {
  for (const std::string &a : args)
    if (a == name)
      return true;
  return false;
}

std::string KernelMetadata::serialize() const {
  std::ostringstream os;
  os.imbue(std::locale::classic()); // not the host's global locale
  os.precision(9);
  os << "kernel: " << kernelName << "\nlayer: " << layer << "\nkind: " << kind
     << "\ngate: " << toString(gate) << "\nrule: " << toString(rule) << "\nH: " << H
     << "\nHV: " << HV << "\nK: " << K << "\nV: " << V << "\nblock_size: " << blockSize
     << "\nv_tile: " << vTile << "\nshared_memory_bytes: " << sharedMemoryBytes
     << "\nchunk_size: " << chunkSize << "\nscale: " << scale
     << "\nqk_l2norm: " << (qkL2norm ? 1 : 0) << "\nchip: " << chip << "\ninput_type: " << inputType
     << "\ng_type: " << gType << "\nbeta_type: " << betaType
     << "\ncu_seqlens_type: " << cuSeqlensType;
  if (!prepKernelName.empty())
    os << "\nprep_kernel: " << prepKernelName << "\nprep_block_size: " << prepBlockSize
       << "\nprep_shared_memory_bytes: " << prepSharedMemoryBytes;
  if (workspaceTokenBytes)
    os << "\nworkspace_token_bytes: " << workspaceTokenBytes;
  if (workspaceSequenceBytes)
    os << "\nworkspace_sequence_bytes: " << workspaceSequenceBytes;
  if (segments > 1)
    os << "\nsegments: " << segments << "\nsegments_auto: " << (segmentsAuto ? 1 : 0)
       << "\nsegment_kernel: " << segmentKernelName << "\ncombine_kernel: " << combineKernelName
       << "\ncombine_blocks: " << combineBlocks << "\ncombine_block_size: " << combineBlockSize
       << "\ncombine_shared_memory_bytes: " << combineSharedMemoryBytes;
  if (programmaticLaunch)
    os << "\nprogrammatic_launch: 1";
  os << "\nargs:";
  for (const std::string &a : args)
    os << " " << a;
  os << "\n";
  return os.str();
}

Status KernelMetadata::parse(const std::string &text, KernelMetadata &out) {
  out = KernelMetadata();
  std::istringstream in(text);
  in.imbue(std::locale::classic()); // not the host's global locale
  std::string line;
  int lineNo = 0;
  auto bad = [&](const std::string &why) {
    return Status::error(Status::Code::InvalidArgument,
                         "metadata line " + std::to_string(lineNo) + ": " + why);
  };
  bool sawKernel = false;
  while (std::getline(in, line)) {
    ++lineNo;
    if (line.empty() || line[0] == '#')
      continue;
    size_t colon = line.find(':');
    if (colon == std::string::npos)
      return bad("expected 'key: value', got '" + line + "'");
    std::string key = line.substr(0, colon);
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    auto number = [&](int64_t &field) -> Status {
      try {
        size_t used = 0;
        field = std::stoll(value, &used);
        if (used != value.size())
          throw std::invalid_argument(value);
      } catch (const std::exception &) {
        return bad("'" + key + "' needs an integer, got '" + value + "'");
      }
      return Status::ok();
    };
    Status s;
    int64_t flag = 0;
    if (key == "kernel") {
      out.kernelName = value;
      sawKernel = !value.empty();
    } else if (key == "layer") {
      out.layer = value;
    } else if (key == "kind") {
      out.kind = value;
    } else if (key == "gate") {
      if (value == "none")
        out.gate = GateKind::None;
      else if (value == "scalar")
        out.gate = GateKind::Scalar;
      else if (value == "channel")
        out.gate = GateKind::Channel;
      else
        return bad("unknown gate '" + value + "'");
    } else if (key == "rule") {
      if (value == "additive")
        out.rule = UpdateRule::Additive;
      else if (value == "delta")
        out.rule = UpdateRule::Delta;
      else
        return bad("unknown rule '" + value + "'");
    } else if (key == "H") {
      s = number(out.H);
    } else if (key == "HV") {
      s = number(out.HV);
    } else if (key == "K") {
      s = number(out.K);
    } else if (key == "V") {
      s = number(out.V);
    } else if (key == "block_size") {
      s = number(out.blockSize);
    } else if (key == "v_tile") {
      s = number(out.vTile);
    } else if (key == "shared_memory_bytes") {
      s = number(out.sharedMemoryBytes);
    } else if (key == "chunk_size") {
      s = number(out.chunkSize);
    } else if (key == "scale") {
      // A classic-locale stream, not std::stof: the host's C locale may use a decimal comma.
      std::istringstream text(value);
      text.imbue(std::locale::classic());
      float scale = 0;
      if (!(text >> scale) || !(text >> std::ws).eof())
        return bad("'scale' needs a number, got '" + value + "'");
      out.scale = scale;
    } else if (key == "qk_l2norm") {
      s = number(flag);
      out.qkL2norm = flag != 0;
    } else if (key == "chip") {
      out.chip = value;
    } else if (key == "input_type") {
      out.inputType = value;
    } else if (key == "g_type") {
      out.gType = value;
    } else if (key == "beta_type") {
      out.betaType = value;
    } else if (key == "cu_seqlens_type") {
      out.cuSeqlensType = value;
    } else if (key == "prep_kernel") {
      out.prepKernelName = value;
    } else if (key == "prep_block_size") {
      s = number(out.prepBlockSize);
    } else if (key == "prep_shared_memory_bytes") {
      s = number(out.prepSharedMemoryBytes);
    } else if (key == "workspace_token_bytes") {
      s = number(out.workspaceTokenBytes);
    } else if (key == "workspace_sequence_bytes") {
      s = number(out.workspaceSequenceBytes);
    } else if (key == "segments") {
      s = number(out.segments);
    } else if (key == "segment_kernel") {
      out.segmentKernelName = value;
    } else if (key == "segments_auto") {
      s = number(flag);
      if (s && flag != 0 && flag != 1)
        return bad("'segments_auto' must be 0 or 1, got '" + value + "'");
      out.segmentsAuto = flag == 1;
    } else if (key == "combine_kernel") {
      out.combineKernelName = value;
    } else if (key == "combine_blocks") {
      s = number(out.combineBlocks);
    } else if (key == "combine_block_size") {
      s = number(out.combineBlockSize);
    } else if (key == "combine_shared_memory_bytes") {
      s = number(out.combineSharedMemoryBytes);
    } else if (key == "programmatic_launch") {
      s = number(flag);
      if (s && flag != 0 && flag != 1)
        return bad("'programmatic_launch' must be 0 or 1, got '" + value + "'");
      out.programmaticLaunch = flag == 1;
    } else if (key == "args") {
      std::istringstream words(value);
      words.imbue(std::locale::classic()); // not the host's global locale
      std::string w;
      while (words >> w)
        out.args.push_back(w);
    } else {
      return bad("unknown key '" + key + "'");
    }
    if (!s)
      return s;
  }
  if (!sawKernel)
    return Status::error(Status::Code::InvalidArgument, "metadata has no 'kernel' name");
  if (out.H <= 0 || out.HV <= 0 || out.K <= 0 || out.V <= 0 || out.HV % out.H != 0)
    return Status::error(Status::Code::InvalidArgument,
                         "metadata has inconsistent head geometry H=" + std::to_string(out.H) +
                             " HV=" + std::to_string(out.HV) + " K=" + std::to_string(out.K) +
                             " V=" + std::to_string(out.V));
  if (out.vTile == 0)
    out.vTile = out.blockSize; // records without v_tile: one column per thread
  if (out.blockSize <= 0 || out.blockSize > 1024)
    return Status::error(Status::Code::InvalidArgument, "metadata block_size " +
                                                            std::to_string(out.blockSize) +
                                                            " must be in 1..1024");
  if (out.vTile <= 0 || out.V % out.vTile != 0)
    return Status::error(Status::Code::InvalidArgument,
                         "metadata v_tile " + std::to_string(out.vTile) +
                             " must divide V = " + std::to_string(out.V));
  if (!out.hasArg("T"))
    return Status::error(Status::Code::InvalidArgument, "metadata args must include T");
  if (out.workspaceTokenBytes < 0 || out.workspaceSequenceBytes < 0 ||
      out.prepSharedMemoryBytes < 0)
    return Status::error(Status::Code::InvalidArgument,
                         "metadata workspace_token_bytes, workspace_sequence_bytes and "
                         "prep_shared_memory_bytes must not be negative");
  if (!out.prepKernelName.empty() && (out.prepBlockSize <= 0 || out.prepBlockSize > 1024))
    return Status::error(Status::Code::InvalidArgument, "metadata prep_block_size " +
                                                            std::to_string(out.prepBlockSize) +
                                                            " must be in 1..1024");
  if (out.needsWorkspace() != out.hasArg("workspace") ||
      (out.needsWorkspace() && (!out.hasArg("N") || out.prepKernelName.empty())))
    return Status::error(Status::Code::InvalidArgument,
                         "metadata with workspace bytes needs a prep_kernel and the "
                         "arguments 'workspace' and 'N' (and only then)");
  if (out.chunkSize < 0)
    return Status::error(Status::Code::InvalidArgument, "metadata chunk_size must not be negative");
  if (!out.prepKernelName.empty() && out.chunkSize <= 0)
    return Status::error(Status::Code::InvalidArgument,
                         "metadata with a prep_kernel needs chunk_size > 0");
  if (out.segments < 1 || out.segments > 64)
    return Status::error(Status::Code::InvalidArgument,
                         "metadata segments " + std::to_string(out.segments) + " must be in 1..64");
  if (out.segments > 1 &&
      (out.segmentKernelName.empty() || out.combineKernelName.empty() || out.combineBlocks <= 0 ||
       out.combineBlockSize <= 0 || out.combineBlockSize > 1024 ||
       out.combineSharedMemoryBytes < 0 || !out.needsWorkspace() || !out.hasArg("segments") ||
       out.K % out.vTile != 0))
    return Status::error(Status::Code::InvalidArgument,
                         "metadata with segments > 1 needs segment_kernel, combine_kernel, "
                         "combine_blocks > 0, combine_block_size in 1..1024, a workspace, the "
                         "argument 'segments' and a v_tile dividing K");
  if (out.segments == 1 && (!out.segmentKernelName.empty() || !out.combineKernelName.empty() ||
                            out.segmentsAuto || out.hasArg("segments")))
    return Status::error(Status::Code::InvalidArgument,
                         "metadata names segment kernels, segments_auto or the argument "
                         "'segments' without segments > 1");
  return Status::ok();
}

} // namespace gdn
