# Shared by scripts/test and scripts/run: install what is missing, configure, build.
# Sourced, not run.
set -euo pipefail

GDN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GDN_BUILD="${GDN_BUILD_DIR:-$GDN_ROOT/build}"
GDN_LLVM=/usr/lib/llvm-22

# Debian packages the build and the tests need. Installed only when missing, so a second
# run costs one dpkg query.
GDN_APT_PACKAGES=(
  cmake ninja-build ccache g++ python3 pkg-config
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools libzstd-dev
  libfmt-dev libcli11-dev libgtest-dev zlib1g-dev libffi-dev libtinfo-dev
  clang-format-14 clang-14 libclang-rt-14-dev binutils
)

gdn_install_packages() {
  local missing=()
  for p in "${GDN_APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "gdn: installing ${missing[*]}"
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq || return 1
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null || return 1
  fi
}

gdn_configure() {
  if [ ! -f "$GDN_BUILD/build.ninja" ]; then
    cmake -S "$GDN_ROOT" -B "$GDN_BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null || return 1
  fi
}

gdn_build() {
  # Callers use `if ! gdn_build`, where set -e does not apply: every step returns on failure.
  gdn_install_packages || return 1
  gdn_configure || return 1
  # Two cores here: more jobs only thrash memory on the MLIR translation units.
  cmake --build "$GDN_BUILD" -- -j"${GDN_JOBS:-2}" || return 1
}
