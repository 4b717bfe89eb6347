#!/usr/bin/env bash
# ctest install_consumer: `cmake --install` of the build into a fresh prefix, then the separate
# consumer project built against it with find_package(gdn) and run; checks libgdn.so's SONAME,
# that it exports the C API and nothing else, and that the installed tools start.
#   run.sh BUILD_DIR SOURCE_DIR WORK_DIR ABI_VERSION
set -euo pipefail
build="$1" src="$2" work="$3" abi="$4"
fail() { echo "install_consumer: FAILED: $*" >&2; exit 1; }

rm -rf "$work" && mkdir -p "$work"
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log" ||
  fail "cmake --install (see $work/install.log)"
cmake -S "$src/tests/install/consumer" -B "$work/consumer" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" > "$work/configure.log" 2>&1 ||
  fail "find_package(gdn) from the prefix (see $work/configure.log)"
cmake --build "$work/consumer" > "$work/build.log" 2>&1 || fail "consumer build (see $work/build.log)"
"$work/consumer/consumer_c"
"$work/consumer/consumer_cpp"

lib="$(find "$work/prefix" -name 'libgdn.so' | head -n 1)"
[ -n "$lib" ] || fail "no libgdn.so in the prefix"
soname="$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')"
[ "$soname" = "libgdn.so.$abi" ] || fail "SONAME is '$soname', expected libgdn.so.$abi"
# Exported symbols: the C API (gdn_*) and the version node, nothing of the C++ inside.
others="$(nm -D --defined-only "$lib" | awk '{print $NF}' | grep -v -e '^gdn_' -e '^GDN_' || true)"
[ -z "$others" ] || fail "libgdn.so exports more than the C API: $(echo "$others" | head -n 5 | tr '\n' ' ')"
echo "install_consumer: SONAME $soname, $(nm -D --defined-only "$lib" | grep -c ' gdn_') C API symbols exported"

for tool in "$work"/prefix/bin/*; do
  "$tool" --help > /dev/null 2>&1 || fail "installed $(basename "$tool") --help failed"
done
echo "install_consumer: $(ls "$work/prefix/bin" | wc -l) installed tools start"
