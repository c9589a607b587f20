# scripts/lib.sh: what scripts/run and scripts/test share: install the missing Debian packages,
# then configure and build out of tree in build/ (only what changed is rebuilt).
# Sourced, not run. Works on a fresh Debian machine as root (or with sudo).

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${SVC_BUILD_DIR:-$ROOT/build}

# The build dependencies (named in README.md).
BUILD_PACKAGES="libmicrohttpd-dev libjansson-dev libyaml-dev libcriterion-dev autoconf automake \
libtool pkg-config make gcc"

say() { printf '==> %s\n' "$*" >&2; }

# ensure_packages PKG...: apt-get install the ones dpkg does not report installed.
ensure_packages() {
    local missing="" p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
            missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    local sudo=""
    if [ "$(id -u)" != 0 ]; then
        command -v sudo >/dev/null 2>&1 || { say "need root to install:$missing"; return 1; }
        sudo=sudo
    fi
    say "installing:$missing"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
    # shellcheck disable=SC2086
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        $missing >&2 || return 1
}

# build [CONFIGURE_FLAGS...]: autoreconf when the autotools inputs changed, configure when the
# build dir is new, then make (a no-op when nothing changed).
build() {
    ensure_packages $BUILD_PACKAGES || return 1
    if [ ! -x "$ROOT/configure" ] || [ "$ROOT/configure.ac" -nt "$ROOT/configure" ]; then
        say "autoreconf"
        (cd "$ROOT" && autoreconf -fi >/dev/null 2>&1) || { say "autoreconf failed"; return 1; }
    fi
    mkdir -p "$BUILD"
    if [ ! -f "$BUILD/Makefile" ]; then
        say "configure $*"
        (cd "$BUILD" && "$ROOT/configure" -q "$@") || { say "configure failed"; return 1; }
    fi
    make -s -C "$BUILD" -j"$(nproc)" >&2 || { say "build failed"; return 1; }
}
