# lit configuration for gdn: gdn-opt output checked with FileCheck.
import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "gdn"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.gdn_obj_root, "tests", "lit")
config.excludes = ["lit.cfg.py", "lit.site.cfg.py", "lit.site.cfg.py.in", "Inputs"]
config.substitutions.append(("%gdn_src_root", config.gdn_src_root))

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(
    [ToolSubst("gdn-opt", unresolved="fatal"), ToolSubst("gdn-run", unresolved="fatal"),
     ToolSubst("gdn-compile", unresolved="fatal"), ToolSubst("gdn-bench", unresolved="fatal"),
     ToolSubst("gdn-tune", unresolved="fatal")],
    [config.gdn_tools_dir])

# ptxas (CUDA toolkit) for tests that assemble cubins and read its resource report.
import shutil
if shutil.which("ptxas") or os.path.exists("/usr/local/cuda/bin/ptxas") or os.environ.get("GDN_PTXAS"):
    config.available_features.add("ptxas")
