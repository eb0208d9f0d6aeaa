#!/usr/bin/env bash
# bench/suite.sh: the representative benchmark suite (issue #13): small C programs of ours (bench/suite/*.c), each
# stressing one thing, and Debian i386 programs doing fixed work, every row run natively (the host runs i386
# binaries), under qemu-i386 (equal CPU features) and under compat32 in the same run, plus the C programs built
# for x86-64. Median wall and CPU (user+sys) times, ratios to qemu-i386 and to native, their geometric means.
# Writes its tables into BENCHMARKS.md between "<!-- suite.sh begin -->" and "<!-- suite.sh end -->" only.
#   bench/suite.sh [--quick]   --quick: 1 run per row, a quarter of the work (4 MiB instead of 20 MiB of text)
#   BENCH_N=5 (runs per row in full mode), BENCH_ONLY=REGEX (only rows whose label matches; still writes the
#   section), BENCH_PIN=CPU (every timed run, of every emulator and native build, on that one CPU: for A/B work on a
#   VM whose CPUs differ, as this project's 2-CPU VM's second CPU ran the same run 35% slower in session 12. Not the
#   default: it also puts an emulator's helper threads (compat32's 4 ms timekeeping tick, qemu's RCU thread) on the
#   guest's CPU, which a user's 2-core machine would not, and moved 7-Zip's row from 0.93x to 1.16x), BENCH_PROFILE=K (afterwards, perf record -g of compat32 on the K rows with the highest
#   compat32/qemu-i386 ratio; reports in $COMPAT32_CACHE/bench/suite/profile-*.txt), BENCH_QEMU_CPU (as run.sh).
set -euo pipefail
{ # the whole script is parsed before it runs, so editing it cannot derail a run in progress
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
. "$here/lib.sh"
N="${BENCH_N:-5}" scale=1 mib=20 quick=0
if [ "${1:-}" = --quick ]; then N=1 scale=0.25 mib=4 quick=1; fi
cache="${COMPAT32_CACHE:-$HOME/.cache/compat32}"
out="$cache/bench/suite"; mkdir -p "$out" "$cache/debs"
log() { echo "suite: $*" >&2; }
for t in qemu-i386 gcc /usr/bin/time; do command -v "$t" >/dev/null || { log "$t missing (apt-get install qemu-user gcc-multilib time)"; exit 1; }; done

# --- guests: the C programs, built i386 static (i686 baseline, and -msse2 where it matters) and x86-64 static ---
build() { # name variant(i686|sse2|x64) → cached binary path
  local src="$here/suite/$1.c" flags h bin
  case "$2" in
    i686) flags=(-m32 -march=i686) ;;
    sse2) flags=(-m32 -march=i686 -msse2 -mfpmath=sse) ;;
    x64) flags=() ;;
  esac
  h="$( (cat "$src" "$here/suite/dmath.c"; echo "${flags[*]}") | sha256sum | cut -c1-16)"
  bin="$out/$1-$2-$h"
  if [ ! -x "$bin" ]; then gcc "${flags[@]}" -static -O2 -o "$bin.tmp$$" "$src" -lm && mv "$bin.tmp$$" "$bin"; fi
  echo "$bin"
}

# --- Debian i386 programs: an extra sysroot built the way test.sh builds its (section 2b). test.sh's own
# functions and base package list are read from it, so the two cannot drift; the base sysroot is not touched.
COMPAT32_CACHE="$cache"; SUDO=""; apt_updated=0
[ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo -n"
eval "$(sed -n '/^apt_update() {/,/^}/p; /^sr_base=(/,/)$/p; /^build_sysroot() {/,/^}/p; /^ensure_sysroot() {/,/^}/p' "$root/test.sh")"
if ! dpkg --print-foreign-architectures | grep -qx i386; then   # as test.sh: a fresh machine has no i386 lists
  log "adding dpkg architecture i386"; $SUDO dpkg --add-architecture i386 || { log "dpkg --add-architecture i386 failed"; exit 1; }
fi
sr="$cache/sysroot-i386-bench"
ensure_sysroot "$sr" "${sr_base[@]}" xz-utils bzip2 gzip lua5.4 gawk libmpfr6 libsigsegv2 \
  cpp-12 libgcc-12-dev libc6-dev linux-libc-dev libisl23 libmpc3   # gcc-12's cc1 and the headers it reads
[ -f "$sr.unavailable" ] && log "sysroot $sr unavailable ($(cat "$sr.unavailable")): Debian rows skipped"
bbdir="$cache/debs/busybox-static_i386"
if [ ! -x "$bbdir/bin/busybox" ]; then
  log "downloading busybox-static:i386"
  tmp="$(mktemp -d "$cache/debs/dl.XXXXXX")"
  ( cd "$tmp" && apt-get download busybox-static:i386 >/dev/null )
  rm -rf "$bbdir.tmp" && dpkg -x "$tmp"/busybox-static_*_i386.deb "$bbdir.tmp" && rm -rf "$bbdir" && mv "$bbdir.tmp" "$bbdir"
  rm -rf "$tmp"
fi
bb="$bbdir/bin/busybox"

# --- inputs: generated text (deterministic), compressed once by the host's tools for the decompression rows ---
gen="$out/gentext-$( sha256sum <"$here/suite/gentext.c" | cut -c1-16)"
[ -x "$gen" ] || { gcc -O2 -o "$gen.tmp$$" "$here/suite/gentext.c" && mv "$gen.tmp$$" "$gen"; }
text="$out/text-${mib}m-$(basename "$gen" | cut -d- -f2).txt"
if [ ! -f "$text" ]; then
  "$gen" $((mib << 20)) >"$text.tmp$$" && [ "$(stat -c %s "$text.tmp$$")" = $((mib << 20)) ] && mv "$text.tmp$$" "$text" ||
    { log "could not generate $text"; exit 1; }
fi
for z in "xz -1 -T1:xz" "gzip -6:gz" "bzip2 -9:bz2"; do
  [ -f "$text.${z##*:}" ] || { ${z%:*} -c "$text" >"$text.tmp$$" && mv "$text.tmp$$" "$text.${z##*:}"; } || { log "could not compress $text"; exit 1; }
done

"$root/compat32" --version >/dev/null   # build once, outside the timings
c32="$root/out/cli/Compat32.Cli"        # the emulator without the launcher's source check (run.sh)
export COMPAT32_FRONT=0 LC_ALL=C   # CPU time visible to /usr/bin/time (see run.sh); one locale for every run
qcpu=(-cpu "${BENCH_QEMU_CPU:-Westmere,-lm,-syscall,+movbe}")   # compat32's default SIMD set, no AVX (run.sh)
native=0; [ "$("$bb" echo native 2>/dev/null)" = native ] && native=1
pin=(); pinned="not pinned"
if [ -n "${BENCH_PIN:-}" ]; then
  command -v taskset >/dev/null && taskset -c "$BENCH_PIN" true 2>/dev/null || { log "BENCH_PIN=$BENCH_PIN: cannot pin (taskset)"; exit 1; }
  pin=(taskset -c "$BENCH_PIN"); pinned="each run pinned to CPU $BENCH_PIN (taskset)"
fi
load0="$(cut -d" " -f1-3 /proc/loadavg)"; t00=$(date +%s)

# measure KIND cmd...: runs cmd N times (stdout to a file); prints "wall cpu maxrss-MiB sha" (medians; sha of the
# first run's stdout, and the runs must agree). KIND=mips: stdout is 7-Zip's benchmark report, whose "Tot:" rating
# (MIPS, median) and its CPU-normalised R/U rating stand in for the hash ("wall cpu rss mips ru"); nothing is
# compared: the amount of work follows the speed 7-Zip measures at its start.
measure() {
  local kind="$1"; shift
  local ws=() cs=() ms=() hs=() mips=() mipsu=() i t0 t1 tf="$out/time.$$" so="$out/stdout.$$"
  for ((i = 0; i < N; i++)); do
    t0=$(date +%s%N)
    timeout 900 /usr/bin/time -o "$tf" -f '%U %S %M' "${pin[@]}" "$@" >"$so" 2>"$out/stderr.$$" || { tail -3 "$out/stderr.$$" >&2; return 1; }
    t1=$(date +%s%N)
    ws+=("$(( (t1 - t0) / 1000 ))")
    cs+=("$(tail -1 "$tf" | awk '{ printf "%d", ($1 + $2) * 1e6 }')")
    ms+=("$(tail -1 "$tf" | awk '{ printf "%d", $3 * 1e6 / 1024 }')")
    if [ "$kind" = mips ]; then mips+=("$(awk '/^Tot:/ { print $NF }' "$so")"); mipsu+=("$(awk '/^Tot:/ { print $(NF-1) }' "$so")")
    else hs+=("$(sha256sum <"$so" | cut -c1-16)"); fi
  done
  rm -f "$tf" "$so" "$out/stderr.$$"
  med() { sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.3f", m / 1e6}'; }
  local h
  if [ "$kind" = mips ]; then
    h="$(printf '%s\n' "${mips[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
    [ -n "$h" ] && [ "$h" -gt 0 ] 2>/dev/null || { log "no MIPS rating in the output of $*"; return 1; }
    h="$h $(printf '%s\n' "${mipsu[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
  else h="$(printf '%s\n' "${hs[@]}" | sort -u)"; [ "$(echo "$h" | wc -l)" = 1 ] || { log "stdout changed between runs of $*"; return 1; }; fi
  echo "$(printf '%s\n' "${ws[@]}" | med) $(printf '%s\n' "${cs[@]}" | med) $(printf '%s\n' "${ms[@]}" | med | awk '{ printf "%.0f", $1 }') $h"
}

# median of each column over lines of measure's output (one line per run); a plain row's 4th column is its stdout
# hash, which must agree between the runs ("DIFFERS" when not)
medrows() {
  local kind="$1" lines=() l col nf out=""
  while read -r l; do lines+=("$l"); done
  nf=$(echo "${lines[0]}" | awk '{ print NF }')
  for ((col = 1; col <= nf; col++)); do
    if [ "$kind" != mips ] && [ $col = 4 ]; then
      local h; h="$(printf '%s\n' "${lines[@]}" | awk '{ print $4 }' | sort -u)"
      [ "$(echo "$h" | wc -l)" = 1 ] || h=DIFFERS
      out+="$h "; continue
    fi
    out+="$(printf '%s\n' "${lines[@]}" | awk -v c=$col '{ print $c }' | sort -n |
      awk -v c=$col '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf (c <= 2 ? "%.3f" : "%.0f"), m }') "
  done
  echo "$out"
}

# both KIND ARGS...: N single runs of qemu-i386 (q) and of compat32 (c), alternating: this VM's speed drifts by tens
# of percent within a minute, so each compat32 run is compared with a qemu-i386 run of the same minute. Sets rq, rc.
both() {
  local kind="$1" qs=() cs=() i a b; shift
  for ((i = 0; i < N; i++)); do
    a="$(N=1 measure "$kind" "${q[@]}" "$@")" || return 1
    b="$(N=1 measure "$kind" "${c[@]}" "$@")" || return 2
    qs+=("$a"); cs+=("$b")
  done
  rq=($(printf '%s\n' "${qs[@]}" | medrows "$kind")); rc=($(printf '%s\n' "${cs[@]}" | medrows "$kind"))
}

rows=() worst=() failed=() ratios=()
# row LABEL KIND X64BIN PROG ARGS...: KIND static (PROG is a static i386 binary) | dyn (PROG is a sysroot path
# such as /usr/bin/xz) | mips (dyn, 7-Zip's benchmark). X64BIN: the x86-64 build of the same source, or "-".
row() {
  local label="$1" kind="$2" x64="$3" prog="$4"; shift 4
  [[ -z "${BENCH_ONLY:-}" || "$label" =~ $BENCH_ONLY ]] || return 0
  local nat=() q=() c=() mk=plain
  local stats="$out/stats.json"; rm -f "$stats"
  # The code cache (--code-cache) is off in every row but the warm start-up ones: a row measures the translator, and
  # a warm row a second start with what the first one translated (its cache emptied, then filled by one run).
  local cc_opt=(--code-cache off)
  if [ -n "${warm:-}" ]; then rm -rf "$warm"; cc_opt=(--code-cache "$warm"); fi
  if [ "$kind" = static ]; then nat=("$prog"); q=(qemu-i386 "${qcpu[@]}" "$prog"); c=("$c32" "${cc_opt[@]}" --stats-json "$stats" "$prog")
  else
    [ -f "$sr.unavailable" ] && return 0
    [ "$kind" = mips ] && mk=mips
    # natively through the sysroot's own ld.so and libraries (no host i386 libraries involved); python gets the
    # sysroot's stdlib as PYTHONHOME, which the emulators find by path lookup under the sysroot
    nat=(env PYTHONHOME="$sr/usr" "$sr/lib/ld-linux.so.2" --library-path "$sr/usr/lib/i386-linux-gnu:$sr/lib/i386-linux-gnu" "$sr$prog")
    q=(qemu-i386 "${qcpu[@]}" -L "$sr" "$sr$prog"); c=("$c32" "${cc_opt[@]}" --stats-json "$stats" --sysroot "$sr" "$sr$prog")
  fi
  [ -n "${warm:-}" ] && "${c[@]}" "$@" >/dev/null 2>&1
  local rx=(- - - -) rn=(- - - -) rq rc
  if [ "$x64" != - ]; then rx=($(measure $mk "$x64" "$@")) || rx=(- - - -); fi
  if [ $native = 1 ]; then rn=($(measure $mk "${nat[@]}" "$@")) || rn=(- - - -); fi
  local rq=() rc=() st=0
  both $mk "$@" || st=$?
  if [ $st = 1 ]; then log "$label: qemu-i386 failed"; rows+=("| $label | qemu-i386 failed |"); return 0; fi
  if [ $st = 2 ]; then
    log "$label: FAILED under compat32"; failed+=("$label"); rows+=("| $label | ${rx[0]} | ${rn[0]} | - | FAILED | | | | | | | |"); return 0
  fi
  # the translated code's peak in one address space (the last run's --stats-json), KiB
  local cc; cc="$(grep -o '"code_peak_bytes":[0-9]*' "$stats" 2>/dev/null | awk -F: '{ printf "%.0f", $2 / 1024 }')"; cc="${cc:--}"
  if [ $mk = plain ]; then
    [ "${rc[3]}" = "${rq[3]}" ] && [ "${rc[3]}" != DIFFERS ] || { log "$label: compat32's stdout differs from qemu-i386's (or between runs)"; failed+=("$label (output differs)"); rows+=("| $label | ${rx[0]} | ${rn[0]} | ${rq[0]} | ${rc[0]} (OUTPUT DIFFERS) | | | | | | | |"); return 0; }
    [ "${rn[3]}" = - ] || [ "${rn[3]}" = "${rq[3]}" ] || log "$label: native i386 stdout differs from qemu-i386's"
  fi
  # ratios: compat32 wall / qemu-i386 wall, CPU / CPU, wall / native i386 wall, wall / x86-64 wall; for 7-Zip the
  # MIPS ratio qemu/compat32 (time-like: lower is better) replaces the wall ratios
  local r
  if [ $mk = mips ]; then
    r="$(awk -v q="${rq[3]}" -v c="${rc[3]}" -v n="${rn[3]}" -v qu="${rq[4]}" -v cu="${rc[4]}" 'BEGIN {
      printf "%.2f %.2f %s -", q / c, qu / cu, (n != "-" && n > 0 ? sprintf("%.2f", n / c) : "-") }')"
  else
    r="$(awk -v c="${rc[0]}" -v q="${rq[0]}" -v cc="${rc[1]}" -v qc="${rq[1]}" -v n="${rn[0]}" -v x="${rx[0]}" 'BEGIN {
      printf "%.2f %s %s %s", c / q, (qc > 0 ? sprintf("%.2f", cc / qc) : "-"), (n != "-" && n > 0 ? sprintf("%.2f", c / n) : "-"), (x != "-" && x > 0 ? sprintf("%.2f", c / x) : "-") }')"
  fi
  r=($r)
  local lab="$label"; [ $mk = mips ] && lab="$label (rating MIPS, R/U MIPS: native ${rn[3]}, ${rn[4]:--}; qemu ${rq[3]}, ${rq[4]}; compat32 ${rc[3]}, ${rc[4]})"
  printf '%-52s x64 %6s  i386 %6s  qemu %7s (cpu %6s)  compat32 %7s (cpu %6s)  /qemu %5sx (cpu %5sx)  /native %5sx  /x64 %5sx\n' \
    "$label" "${rx[0]}" "${rn[0]}" "${rq[0]}" "${rq[1]}" "${rc[0]}" "${rc[1]}" "${r[0]}" "${r[1]}" "${r[2]}" "${r[3]}" >&2
  rows+=("| $lab | ${rx[0]} | ${rn[0]} | ${rq[0]} | ${rc[0]} | ${rq[1]} | ${rc[1]} | ${rq[2]} / ${rc[2]} | $cc | **${r[0]}x** | ${r[1]}x | ${r[2]}x | ${r[3]}x |")
  worst+=("${r[0]}	$label	$kind	$prog	$(printf '%q ' "$@")")
  local cat=deb; [[ "$label" == *.c* ]] && cat=c; [[ "$label" == startup* ]] && cat=startup; [ -n "${warm:-}" ] && cat=warm
  ratios+=("$cat ${r[*]}")
}

S="$scale" TXT="$text"
cprog() { # label name variant [scale]
  row "$1" static "$(build "$2" x64)" "$(build "$2" "$3")" "${4:-$S}"
}
# the x87 rows do a quarter of the work: qemu-i386's x87 (soft float) runs them 50-100x slower than native
S87="$(awk -v s="$S" 'BEGIN { print s / 4 }')"
cprog "integer loop: rotate/xor/add/count down (intloop.c)" intloop i686
cprog "SHA-256, 1 MiB blocks (sha256.c)" sha256 i686
cprog "CRC-32, table-driven (crc32.c)" crc32 i686
cprog "qsort with a comparison callback (qsort.c)" qsort i686
cprog "sieve and array walks (sieve.c)" sieve i686
cprog "sieve and array walks, -msse2 (sieve.c, vectorised)" sieve sse2
cprog "double math, x87 (dmath.c, -march=i686; 1/4 work)" dmath i686 "$S87"
cprog "double math, SSE2 (dmath.c, -msse2 -mfpmath=sse)" dmath sse2
cprog "long double math, x87 (ldmath.c; 1/4 work)" ldmath i686 "$S87"
cprog "string functions via glibc (strings.c)" strings i686
cprog "interpreter switch, recursion, indirect calls (interp.c)" interp i686
cprog "pointer chasing: list and tree (ptrchase.c)" ptrchase i686
row "xz -1 compress, $mib MiB text" dyn - /usr/bin/xz -1 -T1 -c "$TXT"
row "xz decompress, $mib MiB text" dyn - /usr/bin/xz -d -c "$TXT.xz"
row "bzip2 -9 compress, $mib MiB text" dyn - /usr/bin/bzip2 -9 -c "$TXT"
row "bzip2 decompress, $mib MiB text" dyn - /usr/bin/bzip2 -d -c "$TXT.bz2"
row "gzip -6 compress, $mib MiB text" dyn - /usr/bin/gzip -6 -c "$TXT"
row "gzip decompress, $mib MiB text" dyn - /usr/bin/gzip -d -c "$TXT.gz"
row "python3.11 CPU script (suite/cpu.py)" dyn - /usr/bin/python3.11 "$here/suite/cpu.py" "$S"
row "perl CPU script (suite/cpu.pl)" dyn - /usr/bin/perl "$here/suite/cpu.pl" "$S"
row "lua5.4 CPU script (suite/cpu.lua)" dyn - /usr/bin/lua5.4 "$here/suite/cpu.lua" "$S"
row "sqlite3 query workload (suite/query.sql)" dyn - /usr/bin/sqlite3 :memory: -cmd ".parameter set @n $(awk -v s="$S" 'BEGIN { printf "%d", 200000 * s }')" ".read $here/suite/query.sql"
row "gawk word counts, $mib MiB text (suite/words.awk)" dyn - /usr/bin/gawk -f "$here/suite/words.awk" "$TXT"
# a compiler: cc1 alone (qemu-i386 does not follow the gcc driver's exec), as `gcc-12 -O2 -S` runs it
# (headers named by their host paths in the sysroot: every column reads the same ones, the host kernel's too)
row "gcc-12 -O2 -S: cc1 compiling bench/suite/interp" dyn - /usr/lib/gcc/i686-linux-gnu/12/cc1 -quiet -nostdinc \
  -isystem "$sr/usr/lib/gcc/i686-linux-gnu/12/include" -isystem "$sr/usr/include/i386-linux-gnu" -isystem "$sr/usr/include" \
  "$here/suite/interp.c" -mtune=generic -march=i686 -O2 -o /dev/null -fasynchronous-unwind-tables
Nsave=$N; [ "$N" -lt 5 ] && N=5   # start-up rows are short and noisy: at least 5 runs, also with --quick
row "startup: busybox true" static - "$bb" true
row "startup: python3.11 -S -c pass" dyn - /usr/bin/python3.11 -S -c pass
warm="$out/code-cache"
row "startup, warm code cache: busybox true" static - "$bb" true
row "startup, warm code cache: python3.11 -S -c pass" dyn - /usr/bin/python3.11 -S -c pass
# a compiler run again, as make runs cc1 once per file: what the first run translated is copied, not translated
row "warm code cache: gcc-12 -O2 -S, cc1 compiling bench/suite/interp" dyn - /usr/lib/gcc/i686-linux-gnu/12/cc1 -quiet -nostdinc \
  -isystem "$sr/usr/lib/gcc/i686-linux-gnu/12/include" -isystem "$sr/usr/include/i386-linux-gnu" -isystem "$sr/usr/include" \
  "$here/suite/interp.c" -mtune=generic -march=i686 -O2 -o /dev/null -fasynchronous-unwind-tables
warm=""
N=1   # 7-Zip's benchmark sizes its work by the speed it measures (30-110 s a run here): one run each
row "7zz b 1 -mmt1 -md18" mips - /usr/bin/7zz b 1 -mmt1 -md18
N=$Nsave
load1="$(cut -d" " -f1-3 /proc/loadavg)"

# geometric means of each ratio column, over the rows that have it
geo() { # COLUMN(1-4) CATEGORY-REGEX
  printf '%s\n' "${ratios[@]}" | awk -v col=$(( $1 + 1 )) -v pat="$2" '
    $1 ~ pat && $col != "-" && $col > 0 { s += log($col); n++ }
    END { if (n) printf "%.2fx (%d rows)", exp(s / n), n; else printf "-" }'; }
model="$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
sec="$out/section.md"
{
  echo "## Benchmark suite (\`bench/suite.sh$([ $quick = 1 ] && echo ' --quick')\`)"
  echo
  echo "Generated by \`bench/suite.sh$([ $quick = 1 ] && echo ' --quick')\` on $(date -u '+%Y-%m-%d %H:%M UTC') in $(( $(date +%s) - t00 )) s: median of $N run(s) per column, qemu-i386 and compat32 runs alternating (7-Zip: 1 run; start-up rows: at least 5), $pinned; wall and CPU (user+sys) in seconds. x86-64 = the same C source built \`gcc -O2 -static\` for x86-64; i386 = the i386 binary run by the host kernel (IA32 emulation; Debian programs through the sysroot's own ld.so); qemu-i386 with \`${qcpu[*]}\` (compat32's default SIMD set, no AVX). Ratios are compat32 / the other (lower is better); for 7-Zip, qemu-i386's rating (MIPS) / compat32's, and in the CPU column the same for 7-Zip's CPU-normalised R/U rating. Code cache: the most translated code compat32's one address space held at once (\`--stats-json\` code_peak_bytes; bound: 64 MiB per address space; past it the oldest of its four segments is evicted); qemu-i386 does not report its translation buffer's use. Load average before: $load0; after: $load1."
  echo
  echo "Machine: $(nproc) CPUs, $model; $(uname -sr); $(qemu-i386 --version | head -1); compat32 at $(git -C "$root" rev-parse --short HEAD)."
  echo
  echo "| benchmark | x86-64 wall | i386 native wall | qemu-i386 wall | compat32 wall | qemu-i386 cpu | compat32 cpu | max RSS MiB qemu / compat32 | compat32 code cache KiB | compat32 / qemu wall | compat32 / qemu cpu | compat32 / i386 native | compat32 / x86-64 |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo "| **geometric mean, all rows** | | | | | | | | | **$(geo 1 '^(c|deb|startup)$')** | $(geo 2 '^(c|deb|startup)$') | $(geo 3 '^(c|deb|startup)$') | $(geo 4 '^(c|deb|startup)$') |"
  echo "| geometric mean, our C programs | | | | | | | | | $(geo 1 '^c$') | $(geo 2 '^c$') | $(geo 3 '^c$') | $(geo 4 '^c$') |"
  echo "| geometric mean, Debian programs | | | | | | | | | $(geo 1 '^deb$') | $(geo 2 '^deb$') | $(geo 3 '^deb$') | - |"
  echo "| geometric mean, startup | | | | | | | | | $(geo 1 '^startup$') | $(geo 2 '^startup$') | $(geo 3 '^startup$') | - |"
  echo "| geometric mean, with a warm code cache (not in the means above) | | | | | | | | | $(geo 1 '^warm$') | $(geo 2 '^warm$') | $(geo 3 '^warm$') | - |"
  [ ${#failed[@]} -gt 0 ] && { echo; echo "FAILED under compat32 in this run: $(IFS=';'; echo "${failed[*]}")."; }
  echo
  echo "Highest compat32 / qemu-i386 wall ratios: $(printf '%s\n' "${worst[@]}" | sort -t$'\t' -k1,1 -gr | head -3 | awk -F'\t' '{ printf "%s%s %sx", (NR > 1 ? "; " : ""), $2, $1 }')."
} >"$sec"
splice_section "$root/BENCHMARKS.md" suite.sh "$sec"
log "wrote the suite section of $root/BENCHMARKS.md ($(( $(date +%s) - t00 )) s)"

# profiles of compat32 on the worst rows (perf record -g on the AOT binary, which keeps its symbols)
if [ "${BENCH_PROFILE:-0}" -gt 0 ] && command -v perf >/dev/null; then
  { printf '%s\n' "${worst[@]}" | sort -t$'\t' -k1,1 -gr || true; } | head -"$BENCH_PROFILE" | while IFS=$'\t' read -r ratio label kind prog args; do
    f="$out/profile-$(echo "$label" | tr -c 'a-zA-Z0-9\n' '_' | cut -c1-40)"
    if [ "$kind" = static ]; then cmd=("$c32" "$prog"); else cmd=("$c32" --sysroot "$sr" "$sr$prog"); fi
    # at most 30 s of the run: a profile, not a measurement
    eval "perf record -F 2000 -g -o \"\$f.data\" -- timeout -s INT 30 \"\${cmd[@]}\" $args" >/dev/null 2>"$f.err" || true
    { perf report -i "$f.data" --no-children -g none --sort dso --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -4 || true
      perf report -i "$f.data" --no-children -g none --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -15 || true; } >"$f.txt"
    log "profile of $label (${ratio}x; translated code shows as [JIT]): $f.txt"; head -8 "$f.txt" >&2
  done
fi
exit 0
}
