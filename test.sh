#!/usr/bin/env bash
# Compat32 test entry point: installs what the tests need when missing, builds, runs every test and prints
# "N passed, N failed[, N skipped]" as its last line. Exit status is non-zero when anything failed.
# Downloads and build products live outside git, in $COMPAT32_CACHE (default $HOME/.cache/compat32).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
export COMPAT32_CACHE="${COMPAT32_CACHE:-$HOME/.cache/compat32}"
# Tests run without the code cache (each run translates afresh, as the translator's tests need); CodeCacheTests
# give it a directory of their own.
export COMPAT32_CODE_CACHE=off
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
mkdir -p "$COMPAT32_CACHE/debs"

log() { echo "test.sh: $*" >&2; }
die() { log "$*"; echo "0 passed, 1 failed"; exit 1; }

SUDO=""
if [ "$(id -u)" != 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi
fi
export DEBIAN_FRONTEND=noninteractive

# --- 1. host packages --------------------------------------------------------------------------------------
apt_updated=0
apt_update() {
  [ "$apt_updated" = 1 ] && return 0
  # The i386 security index sometimes fails with a mirror size mismatch; that must not stop us: what we need
  # comes from the main archive. Retry once, then carry on with whatever lists we have.
  if ! $SUDO apt-get update -q >/dev/null 2>"$COMPAT32_CACHE/apt-update.err"; then
    log "apt-get update reported errors (retrying once):"; tail -3 "$COMPAT32_CACHE/apt-update.err" >&2
    sleep 2
    $SUDO apt-get update -q >/dev/null 2>>"$COMPAT32_CACHE/apt-update.err" || log "apt-get update still failing; continuing"
  fi
  apt_updated=1
}

if ! dpkg --print-foreign-architectures | grep -qx i386; then
  log "adding dpkg architecture i386"
  $SUDO dpkg --add-architecture i386 || die "dpkg --add-architecture i386 failed"
  apt_updated=0
fi

# package → a file that proves it is installed
declare -A need=(
  [gcc-multilib]=/usr/lib/gcc/x86_64-linux-gnu/12/32/libgcc.a
  [qemu-user]=/usr/bin/qemu-i386
  [binutils]=/usr/bin/objdump
  [gdb]=/usr/bin/gdb
  [tmux]=/usr/bin/tmux
  [xz-utils]=/usr/bin/xz
  [linux-source-6.1]=/usr/src/linux-source-6.1.tar.xz
  # building the kernel's own vdso32.so (make arch/x86/entry/vdso/) for the --vdso tests
  [make]=/usr/bin/make
  [flex]=/usr/bin/flex
  [bison]=/usr/bin/bison
  [bc]=/usr/bin/bc
  [libelf-dev]=/usr/include/libelf.h
  [libssl-dev]=/usr/include/openssl/ssl.h
  # headless rendering of `compat32 lab --html` (LabReportTests)
  [chromium]=/usr/bin/chromium
  # Go and Rust guests built by Debian's toolchains (LanguageRuntimeTests)
  [golang-go]=/usr/bin/go
  [rustc]=/usr/bin/rustc
  [libstd-rust-dev:i386]=/usr/lib/rustlib/i686-unknown-linux-gnu/lib
)
missing=()
for p in "${!need[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing: ${missing[*]}"
  apt_update
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >"$COMPAT32_CACHE/apt-install.log" 2>&1 \
    || { tail -20 "$COMPAT32_CACHE/apt-install.log" >&2; die "apt-get install ${missing[*]} failed"; }
fi
command -v gcc >/dev/null && command -v qemu-i386 >/dev/null || die "gcc or qemu-i386 still missing"
command -v dotnet >/dev/null || die "the .NET 10 SDK (dotnet) is needed"

# --- 2. busybox-static:i386, unpacked (not installed) into the cache ------------------------------------------
bbdir="$COMPAT32_CACHE/debs/busybox-static_i386"
if [ ! -x "$bbdir/bin/busybox" ]; then
  log "downloading busybox-static:i386"
  tmp="$(mktemp -d "$COMPAT32_CACHE/debs/dl.XXXXXX")"
  ( cd "$tmp" && apt-get download busybox-static:i386 >/dev/null 2>&1 ) \
    || { apt_update; ( cd "$tmp" && apt-get download busybox-static:i386 >/dev/null 2>&1 ); } \
    || { rm -rf "$tmp"; die "apt-get download busybox-static:i386 failed"; }
  deb="$(ls "$tmp"/busybox-static_*_i386.deb | head -1)"
  rm -rf "$bbdir.tmp" && dpkg -x "$deb" "$bbdir.tmp" || { rm -rf "$tmp"; die "dpkg -x $deb failed"; }
  cp "$deb" "$COMPAT32_CACHE/debs/" 2>/dev/null
  rm -rf "$bbdir" && mv "$bbdir.tmp" "$bbdir"
  rm -rf "$tmp"
  [ -x "$bbdir/bin/busybox" ] || die "no bin/busybox in the busybox-static deb"
fi
export COMPAT32_BUSYBOX="$bbdir/bin/busybox"

# --- 2b. Debian i386 sysroots, unpacked, not installed ----------------------------------------------------------
# The base one (bash, dash, coreutils, python3.11, perl, make, ...) is $COMPAT32_SYSROOT. Extra ones for tests that
# need more packages live beside it ($COMPAT32_SYSROOT_<NAME>, the base packages plus theirs) so that changing one
# list never rebuilds a sysroot another run is using. A failed download does not stop the run: the tests that need
# that sysroot then skip, naming the reason left in <dir>.unavailable.
sr_base=(libc6 libgcc-s1 libcrypt1 libtinfo6 libacl1 libattr1 libgmp10 libselinux1 libpcre2-8-0 zlib1g libexpat1
  libssl3 libffi8 libbz2-1.0 liblzma5 libuuid1 bash dash coreutils grep sed make perl-base
  python3.11-minimal libpython3.11-minimal libpython3.11-stdlib
  sqlite3 libsqlite3-0 libreadline8
  stress-ng libapparmor1 libbsd0 libmd0 libegl1 libglvnd0 libgles2 libgbm1 libdrm2 libwayland-server0 libjudydebian1
  libjpeg62-turbo libkmod2 libzstd1 libsctp1 libxxhash0 7zip libstdc++6)
# build_sysroot DIR PKG... : download (cached in debs/sysroot-i386) and unpack PKG:i386 into DIR
build_sysroot() {
  local sr="$1"; shift
  local pkgs=("$@") debs="$COMPAT32_CACHE/debs/sysroot-i386" t="$sr.tmp" p missing=() d
  mkdir -p "$debs"
  for p in "${pkgs[@]}"; do ls "$debs/${p}_"*_i386.deb >/dev/null 2>&1 || missing+=("$p:i386"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "downloading ${#missing[@]} i386 packages for $(basename "$sr")"
    ( cd "$debs" && apt-get download "${missing[@]}" >/dev/null 2>"$sr.dl.err" ) \
      || { apt_update; ( cd "$debs" && apt-get download "${missing[@]}" >/dev/null 2>"$sr.dl.err" ); } \
      || { echo "apt-get download failed: $(grep -m1 '^E:' "$sr.dl.err")"; return 1; }
  fi
  rm -rf "$t"; mkdir -p "$t"
  for p in "${pkgs[@]}"; do
    d="$(ls "$debs/${p}_"*_i386.deb | sort -V | tail -1)"
    dpkg -x "$d" "$t" || { echo "dpkg -x $d failed"; return 1; }
  done
  # merged /usr as on a bookworm system: /bin, /sbin, /lib are links into /usr
  for d in bin sbin lib; do
    [ -d "$t/$d" ] && [ ! -L "$t/$d" ] || continue
    mkdir -p "$t/usr/$d" && cp -a "$t/$d/." "$t/usr/$d/" && rm -rf "${t:?}/$d" || { echo "merging /$d failed"; return 1; }
    ln -s "usr/$d" "$t/$d"
  done
  # its own ld.so.cache, or ld.so would take the host's (which lists /lib32); an empty one means the default paths
  echo 'include /etc/ld.so.conf.d/*.conf' >"$t/etc/ld.so.conf"
  ldconfig -r "$t" -X 2>/dev/null || : >"$t/etc/ld.so.cache"
  [ -x "$t/usr/bin/bash" ] && [ -e "$t/lib/ld-linux.so.2" ] || { echo "unpacked sysroot lacks bash or ld-linux.so.2"; return 1; }
  printf '%s:i386\n' "${pkgs[@]}" | sort >"$t/.packages"
  rm -rf "$sr" && mv "$t" "$sr"
}
# ensure_sysroot DIR PKG... : (re)build DIR when its package list changed
ensure_sysroot() {
  local sr="$1" why; shift
  if [ "$(cat "$sr/.packages" 2>/dev/null)" != "$(printf '%s:i386\n' "$@" | sort)" ]; then
    if why="$(build_sysroot "$sr" "$@")"; then rm -f "$sr.unavailable"
    else log "Debian sysroot $(basename "$sr") unavailable: $why"; rm -rf "$sr.tmp"; echo "$why" >"$sr.unavailable"; fi
  fi
}
sr="$COMPAT32_CACHE/sysroot-i386"
ensure_sysroot "$sr" "${sr_base[@]}"
export COMPAT32_SYSROOT="$sr"
# net: curl:i386 and its libraries (bookworm's dependency closure of curl less what the base has)
ensure_sysroot "$COMPAT32_CACHE/sysroot-i386-net" "${sr_base[@]}" curl libcurl4 libbrotli1 libcom-err2 libdb5.3 \
  libgnutls30 libgssapi-krb5-2 libhogweed6 libidn2-0 libk5crypto3 libkeyutils1 libkrb5-3 libkrb5support0 \
  libldap-2.5-0 libnettle8 libnghttp2-14 libp11-kit0 libpsl5 librtmp1 libsasl2-2 libsasl2-modules-db libssh2-1 \
  libtasn1-6 libunistring2
export COMPAT32_SYSROOT_NET="$COMPAT32_CACHE/sysroot-i386-net"
# SIMD programs (issue #10): openssl's AES-NI/SHA paths, a Rust program (ripgrep), a Go program (fzf)
ensure_sysroot "$COMPAT32_CACHE/sysroot-i386-simd" "${sr_base[@]}" openssl ripgrep fzf
export COMPAT32_SYSROOT_SIMD="$COMPAT32_CACHE/sysroot-i386-simd"
# a compiler: Debian's i386 gcc-12 and binutils with the C library's headers (DebianCompilerTests)
ensure_sysroot "$COMPAT32_CACHE/sysroot-i386-cc" "${sr_base[@]}" gcc-12 cpp-12 libgcc-12-dev libc6-dev linux-libc-dev \
  libcrypt-dev binutils binutils-i686-linux-gnu libbinutils libctf0 libctf-nobfd0 libgprofng0 libjansson4 libisl23 \
  libmpc3 libmpfr6 libasan8 libubsan1 libatomic1 libgomp1 libitm1 libquadmath0
export COMPAT32_SYSROOT_CC="$COMPAT32_CACHE/sysroot-i386-cc"

# --- 3. build ----------------------------------------------------------------------------------------------
log "building (Release)"
if ! dotnet build Compat32.slnx -c Release -nologo -v q -clp:ErrorsOnly >"$COMPAT32_CACHE/build.log" 2>&1; then
  cat "$COMPAT32_CACHE/build.log" >&2
  die "dotnet build failed"
fi
# the launcher builds out/cli on first use (and when sources changed)
./compat32 --version >/dev/null 2>"$COMPAT32_CACHE/launcher.err" || { cat "$COMPAT32_CACHE/launcher.err" >&2; die "./compat32 does not start"; }

# --- 4. test -----------------------------------------------------------------------------------------------
results="$COMPAT32_CACHE/test-results"
rm -rf "$results"; mkdir -p "$results"
log "running tests"
# A test that hangs is killed after 8 minutes and reported (its name in the output), rather than stalling the run.
hang=(--blame-hang-timeout 8m --blame-hang-dump-type none)
dotnet test Compat32.slnx -c Release --no-build -nologo "${hang[@]}" \
  --logger "trx;LogFileName=results.trx" --logger "console;verbosity=minimal" \
  --results-directory "$results" 2>&1 | grep -v '^\s*$'
test_rc=${PIPESTATUS[0]}

# Pass 2 (x86-64 hosts, where the block translator runs): the tests that run guest programs again, with every
# block translated at its first execution, so translated host code (not the interpreter) runs nearly all of it.
if [ "$(uname -m)" = x86_64 ]; then
  log "running the guest-program tests again with COMPAT32_JIT_THRESHOLD=1"
  COMPAT32_JIT_THRESHOLD=1 dotnet test Compat32.slnx -c Release --no-build -nologo "${hang[@]}" \
    --filter "FullyQualifiedName~Compat32.Tests.Tasks|FullyQualifiedName~Compat32.Tests.Fs|FullyQualifiedName~Compat32.Tests.Guests|FullyQualifiedName~Compat32.Tests.Busybox|FullyQualifiedName~Compat32.Tests.Signals|FullyQualifiedName~Compat32.Tests.X87|FullyQualifiedName~Compat32.Tests.Selftests|FullyQualifiedName~Compat32.Tests.Entry|FullyQualifiedName~Compat32.Tests.Elf|FullyQualifiedName~Compat32.Tests.Debian|FullyQualifiedName~Compat32.Tests.Net|FullyQualifiedName~Compat32.Tests.Simd.SimdGuestTests" \
    --logger "trx;LogFileName=jit-all.trx" --logger "console;verbosity=minimal" \
    --results-directory "$results/jit-all" 2>&1 | grep -v '^\s*$'
  rc2=${PIPESTATUS[0]}
  [ "$test_rc" = 0 ] && test_rc=$rc2
fi

passed=0 failed=0 skipped=0 found=0
while IFS= read -r trx; do
  found=1
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -1)"
  get() { echo "$counters" | sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p"; }
  total=$(get total); p=$(get passed); f=$(get failed); e=$(get error); t=$(get timeout); a=$(get aborted); x=$(get executed)
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0} + ${t:-0} + ${a:-0}))
  skipped=$((skipped + ${total:-0} - ${x:-0}))
done < <(find "$results" -name '*.trx')
[ "$found" = 1 ] || { log "no test results produced (dotnet test exit $test_rc)"; failed=$((failed + 1)); }
if [ "$failed" = 0 ] && [ "$test_rc" != 0 ]; then log "dotnet test exited $test_rc"; failed=1; fi

line="$passed passed, $failed failed"
[ "$skipped" -gt 0 ] && line="$line, $skipped skipped"
echo "$line"
[ "$failed" = 0 ]
