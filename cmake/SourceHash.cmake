# Writes a header defining GDN_CODEGEN_SOURCE_HASH: the SHA-256 of the compiler's sources (the
# dialect, passes, codegen and runtime files passed in SOURCES, in order). The JIT and tuning
# caches key on it, so any edit that can change generated kernels changes the key, committed
# or not.  Run as: cmake -DOUT=<header> -DSOURCES=<a;b;...> -P SourceHash.cmake
set(all "")
foreach(f IN LISTS SOURCES)
  file(SHA256 "${f}" h)
  string(APPEND all "${h}")
endforeach()
string(SHA256 digest "${all}")
string(SUBSTRING "${digest}" 0 16 digest)
set(text "#define GDN_CODEGEN_SOURCE_HASH \"${digest}\"\n")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT "${old}" STREQUAL "${text}")
  file(WRITE "${OUT}" "${text}")
endif()
