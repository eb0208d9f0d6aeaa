#!/usr/bin/env bash
# Long fuzz run (issue #12): the syscall, ELF and instruction-stream fuzzers with new seeds for HOURS (default 1),
# all three at once (the syscall fuzzer mostly waits on its 50 ms timer; the ELF fuzzer loads most mutants
# in-process). The run works on a snapshot of the test build and of the compat32 binary, so editing the tree
# meanwhile changes nothing under it. Failing inputs go to tests/Compat32.Tests/Fuzz/seeds/{syscall,elf,insn}.txt
# of the snapshot, copied back at the end (the CI replays every line there); totals, and progress lines while it
# runs, go to $COMPAT32_CACHE/fuzz/report.txt.
#   tools/fuzz.sh [HOURS] [FIRST_SEED] [FUZZERS]   (run it under nice -n 19 on a shared machine)
# FUZZERS: a comma list of syscall, diff, elf, insn (default all four), e.g. "elf,insn" once a count is reached.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
hours="${1:-1}"
export COMPAT32_CACHE="${COMPAT32_CACHE:-$HOME/.cache/compat32}"
export COMPAT32_FUZZ_SECONDS="$(awk -v h="$hours" 'BEGIN { printf "%d", h * 3600 }')"
export COMPAT32_FUZZ_SEED="${2:-$(date +%s)000}"
declare -A test_of=([syscall]=SyscallFuzzTests.LongRun [diff]=SyscallFuzzTests.DifferentialRun
                    [elf]=ElfFuzzTests.LongRun [insn]=InsnFuzzTests.LongRun)
tests=()
for f in ${3//,/ }; do
  [ -n "${test_of[$f]:-}" ] || { echo "fuzz.sh: unknown fuzzer '$f' (syscall, diff, elf, insn)" >&2; exit 2; }
  tests+=("${test_of[$f]}")
done
[ ${#tests[@]} -gt 0 ] || tests=("${test_of[syscall]}" "${test_of[diff]}" "${test_of[elf]}" "${test_of[insn]}")
dotnet build Compat32.slnx -c Release -nologo -v q -clp:ErrorsOnly || exit 1
./compat32 --version >/dev/null || exit 1
snap="$COMPAT32_CACHE/fuzz/run-$COMPAT32_FUZZ_SEED"
rm -rf "$snap"; mkdir -p "$snap/tests/Compat32.Tests/bin/Release" "$snap/tests/Compat32.Tests/Fuzz"
cp Compat32.slnx "$snap/"; cp -a fuzz "$snap/"; cp -a tests/guests "$snap/tests/"
cp -a tests/Compat32.Tests/Fuzz/seeds "$snap/tests/Compat32.Tests/Fuzz/"
cp -a tests/Compat32.Tests/bin/Release/net10.0 "$snap/tests/Compat32.Tests/bin/Release/"
cp -a out/cli "$snap/cli"
export COMPAT32="$snap/cli/Compat32.Cli"
[ -x "$COMPAT32" ] || export COMPAT32="$here/compat32"
cd "$snap"
pids=()
for t in "${tests[@]}"; do
  echo "fuzz.sh: $t for $COMPAT32_FUZZ_SECONDS s from seed $COMPAT32_FUZZ_SEED" >&2
  ( dotnet test tests/Compat32.Tests/bin/Release/net10.0/Compat32.Tests.dll \
      --filter "FullyQualifiedName~Compat32.Tests.Fuzz.$t" --logger "console;verbosity=detailed" 2>&1 |
      grep -E "fuzz:|Passed|Failed|seed" ) &
  pids+=($!)
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
for k in syscall elf insn; do
  f="tests/Compat32.Tests/Fuzz/seeds/$k.txt"
  if [ -f "$f" ] && ! cmp -s "$f" "$here/$f"; then
    touch "$here/$f"; grep -vxF -f "$here/$f" "$f" >> "$here/$f"; echo "fuzz.sh: new failing inputs in $f" >&2
  fi
done
tail -4 "$COMPAT32_CACHE/fuzz/report.txt" 2>/dev/null
exit $rc
