#!/usr/bin/env bash
# Long fuzz run (issue #12): the syscall, ELF and instruction-stream fuzzers with new seeds for HOURS (default 1),
# each for a third of the time. Failing inputs are appended to tests/Compat32.Tests/Fuzz/seeds/{syscall,elf,insn}.txt
# (the CI replays every line there); totals go to $COMPAT32_CACHE/fuzz/report.txt.
#   tools/fuzz.sh [HOURS] [FIRST_SEED]
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
hours="${1:-1}"
export COMPAT32_CACHE="${COMPAT32_CACHE:-$HOME/.cache/compat32}"
export COMPAT32_FUZZ_SECONDS="$(awk -v h="$hours" 'BEGIN { printf "%d", h * 3600 / 3 }')"
export COMPAT32_FUZZ_SEED="${2:-$(date +%s)}"
dotnet build Compat32.slnx -c Release -nologo -v q -clp:ErrorsOnly || exit 1
./compat32 --version >/dev/null || exit 1
rc=0
for t in SyscallFuzzTests.LongRun SyscallFuzzTests.DifferentialRun ElfFuzzTests.LongRun InsnFuzzTests.LongRun; do
  echo "fuzz.sh: $t for $COMPAT32_FUZZ_SECONDS s from seed $COMPAT32_FUZZ_SEED" >&2
  dotnet test Compat32.slnx -c Release --no-build -nologo --filter "FullyQualifiedName~Compat32.Tests.Fuzz.$t" \
    --logger "console;verbosity=detailed" 2>&1 | grep -E "fuzz:|Passed|Failed|seed" || true
  [ "${PIPESTATUS[0]}" = 0 ] || rc=1
done
tail -3 "$COMPAT32_CACHE/fuzz/report.txt" 2>/dev/null
exit $rc
