#!/usr/bin/env bash
# Builds the Linux 6.1 x86 and vDSO selftests as 32-bit programs (entry-design spec §7) from Debian's kernel
# source tarball into $COMPAT32_CACHE/selftests/<key>/bin. Nothing is written into the repository. Prints the
# bin directory. Usage: build-selftests.sh [TARBALL]
set -euo pipefail
tarball="${1:-/usr/src/linux-source-6.1.tar.xz}"
[ -f "$tarball" ] || { echo "build-selftests: $tarball not found (apt-get install linux-source-6.1)" >&2; exit 2; }
cache="${COMPAT32_CACHE:-$HOME/.cache/compat32}/selftests"
script_sum=$(sha256sum "$0" | cut -c1-12)
tar_id=$(stat -c '%s-%Y' "$tarball")
out="$cache/$script_sum-$tar_id"
if [ -f "$out/.done" ]; then echo "$out/bin"; exit 0; fi
mkdir -p "$cache"
exec 9>"$cache/.lock"; flock 9
if [ -f "$out/.done" ]; then echo "$out/bin"; exit 0; fi
rm -rf "$out"; mkdir -p "$out/bin"
top=$(basename "$tarball" .tar.xz) # Debian: linux-source-6.1/...
tar -xJf "$tarball" -C "$out" \
  "$top/tools/testing/selftests/x86" "$top/tools/testing/selftests/vDSO" "$top/tools/testing/selftests/kselftest.h" \
  "$top/tools/include" "$top/arch/x86/include/asm/desc_defs.h"
src="$out/$top"
x86="$src/tools/testing/selftests/x86"; vdso="$src/tools/testing/selftests/vDSO"
CC="${CC:-gcc}"
CFLAGS=(-m32 -static -O2 -g -std=gnu99 -pthread -no-pie -DCAN_BUILD_32 -DCAN_BUILD_64)
fail=0
build() { # name, then compiler arguments
  local name="$1"; shift
  if ! "$CC" "$@" -o "$out/bin/$name" 2>"$out/bin/$name.log"; then echo "build-selftests: $name failed:" >&2; tail -5 "$out/bin/$name.log" >&2; fail=1; fi
}
for t in single_step_syscall syscall_nt sigtrap_loop syscall_arg_fault sigaltstack unwind_vdso test_FCMOV test_FCOMI \
         test_FISTTP sigreturn test_syscall_vdso vdso_restorer test_mremap_vdso mov_ss_trap ldt_gdt sysret_ss_attrs; do
  extra=()
  case $t in
    test_syscall_vdso) extra=("$x86/thunks_32.S");;
    sigreturn) extra=(-I "$src/arch/x86/include");;
  esac
  build "$t" "${CFLAGS[@]}" "$x86/$t.c" "${extra[@]}" -lrt -ldl -lm
done
build check_initial_reg_state "${CFLAGS[@]}" -Wl,-ereal_start "$x86/check_initial_reg_state.c"
build ptrace_syscall "${CFLAGS[@]}" "$x86/ptrace_syscall.c" "$x86/raw_syscall_helper_32.S" -lrt -ldl -lm
# unwind_vdso finds the vDSO through the dynamic loader too: a dynamic build is the more telling one.
build test_mremap_vdso_dyn -m32 -O2 -g -std=gnu99 -pthread -no-pie -DCAN_BUILD_32 "$x86/test_mremap_vdso.c" -lrt -ldl -lm
build unwind_vdso_dyn -m32 -O2 -g -std=gnu99 -pthread -no-pie -DCAN_BUILD_32 "$x86/unwind_vdso.c" -lrt -ldl -lm
for t in vdso_test_gettimeofday vdso_test_abi; do
  build "$t" "${CFLAGS[@]}" -I "$src/tools/include" "$vdso/$t.c" "$vdso/parse_vdso.c"
done
build vdso_test_clock_getres "${CFLAGS[@]}" -I "$src/tools/include" "$vdso/vdso_test_clock_getres.c"
build vdso_test_correctness -m32 -O2 -g -std=gnu99 -I "$src/tools/include" "$vdso/vdso_test_correctness.c" -ldl
build vdso_standalone_test_x86 -m32 -std=gnu99 -nostdlib -fno-asynchronous-unwind-tables -fno-stack-protector -static \
  -I "$src/tools/include" "$vdso/vdso_standalone_test_x86.c" "$vdso/parse_vdso.c"
[ $fail = 0 ] || { echo "build-selftests: some tests did not build (logs in $out/bin)" >&2; exit 1; }
touch "$out/.done"
echo "$out/bin"
