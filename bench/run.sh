#!/usr/bin/env bash
# bench/run.sh: the same i386 guests natively (where the host runs i386 binaries), under qemu-i386 and under
# compat32, in one run; median wall and CPU times, the ratio compat32/qemu, and for the process/thread rows the
# host memory and host threads used. Writes the tables (with machine, load and date) into BENCHMARKS.md between
# "<!-- run.sh begin -->" and "<!-- run.sh end -->" (bench/lib.sh splice_section), leaving the rest of the file.
#   bench/run.sh [--quick]   --quick: 3 runs per benchmark instead of 5
#   BENCH_N=5 (runs per benchmark), BENCH_ONLY=REGEX (only the rows whose label matches; for debugging), COMPAT32_CACHE (default ~/.cache/compat32) holds the built guests and
#   busybox-static:i386 (downloaded with apt-get download + dpkg -x when absent, as test.sh does).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
. "$here/lib.sh"
N="${BENCH_N:-5}"
[ "${1:-}" = --quick ] && N=3
cache="${COMPAT32_CACHE:-$HOME/.cache/compat32}"
out="$cache/bench"; mkdir -p "$out" "$cache/debs"
command -v qemu-i386 >/dev/null || { echo "bench: qemu-i386 missing (apt-get install qemu-user)" >&2; exit 1; }
command -v gcc >/dev/null || { echo "bench: gcc missing (apt-get install gcc-multilib)" >&2; exit 1; }
if [ ! -x /usr/bin/time ]; then
  echo "bench: /usr/bin/time missing: installing it (apt-get install time) for CPU times and max RSS" >&2
  { apt-get install -y time >/dev/null 2>&1 || sudo -n apt-get install -y time >/dev/null 2>&1; } ||
    echo "bench: could not install /usr/bin/time: CPU and memory columns will be 0" >&2
fi
build() { # name [gcc flags] → cached binary path
  local src="$here/$1.c" h flags=("${@:2}")
  [ ${#flags[@]} -gt 0 ] || flags=(-march=i686)
  h="$( (cat "$src"; echo "${flags[*]}") | sha256sum | cut -c1-16)"
  local bin="$out/$1-$h"
  if [ ! -x "$bin" ]; then gcc -m32 "${flags[@]}" -static -O2 -pthread -o "$bin.tmp$$" "$src" && mv "$bin.tmp$$" "$bin"; fi
  echo "$bin"
}
cpu="$(build cpubench)"
sys="$(build getppid)"
pingpong="$(build pingpong)"
xadd="$(build xadd)"
forkheap="$(build forkheap)"
threads="$(build threads1000)"
net="$(build netbench)"
simdk="$(build simdkernel -msse4.2 -mfpmath=sse -ftree-vectorize)"
mmxk="$(build mmxkernel -march=i686 -mmmx)"
# openssl from the SIMD sysroot test.sh builds (sysroot-i386-simd); its rows are skipped when it is missing.
srsimd="${COMPAT32_SYSROOT_SIMD:-$cache/sysroot-i386-simd}"
big="$out/data-16m.bin"
[ -f "$big" ] || { for i in $(seq 0 65535); do printf '%0255d\n' "$((i * 7919))"; done >"$big.tmp$$" && mv "$big.tmp$$" "$big"; }
# 8 copies: the steady-state rate, with start-up (about 0.1 s for either emulator) a small part of the run.
big128="$out/data-128m.bin"
[ -f "$big128" ] || { for i in 1 2 3 4 5 6 7 8; do cat "$big"; done >"$big128.tmp$$" && mv "$big128.tmp$$" "$big128"; }

bbdir="$cache/debs/busybox-static_i386"
if [ ! -x "$bbdir/bin/busybox" ]; then
  echo "bench: downloading busybox-static:i386" >&2
  tmp="$(mktemp -d "$cache/debs/dl.XXXXXX")"
  ( cd "$tmp" && apt-get download busybox-static:i386 >/dev/null )
  rm -rf "$bbdir.tmp" && dpkg -x "$tmp"/busybox-static_*_i386.deb "$bbdir.tmp" && rm -rf "$bbdir" && mv "$bbdir.tmp" "$bbdir"
  rm -rf "$tmp"
fi
bb="$bbdir/bin/busybox"

# The emulator itself: the binary the ./compat32 launcher builds and then execs. The launcher's check of a source
# checkout for edits (a find, a base64 of the caller's environment: ~6 ms) is a build step, not part of running a
# program, and an installed compat32 has no launcher.
"$root/compat32" --version >/dev/null   # build it once, outside the timings
c32="$root/out/cli/Compat32.Cli"
# CPU time is only visible to /usr/bin/time when the emulator runs in the process it starts: without the front
# (COMPAT32_FRONT=0) the engine is that process; the guest sees no difference.
export COMPAT32_FRONT=0
# Every run translates afresh (the code cache would hand the second run the first one's translations).
export COMPAT32_CODE_CACHE=off
# Equal CPU features: compat32's default models report Goldmont's SIMD set (SSE4.2, SSSE3, AES, PCLMUL, MOVBE,
# no AVX); qemu-i386's default "max" would add AVX2. Westmere is qemu's oldest model with all of it and no AVX.
qcpu=(-cpu "${BENCH_QEMU_CPU:-Westmere,-lm,-syscall,+movbe}")
load0="$(cut -d" " -f1-3 /proc/loadavg)"
# The host runs i386 binaries itself (IA32 emulation in its kernel)? Then each guest also gets a native column.
native=0; if [ "$("$bb" echo native 2>/dev/null)" = native ]; then native=1; fi

# Runs a command N times; prints "median-wall median-cpu median-maxrss" (seconds, seconds, MiB; cpu = user+sys
# and max RSS from /usr/bin/time: max RSS is that of the largest single process of the run, children included).
# On a shared, loaded box the CPU time is the steadier number. stdout must not change between runs; a failing
# run (exit status, timeout) fails the benchmark.
median() {
  local ws=() cs=() ms=() ref="" o t0 t1 tf; tf="$(mktemp)"
  for ((i = 0; i < N; i++)); do
    t0=$(date +%s%N)
    if [ -x /usr/bin/time ]; then o="$(timeout 600 /usr/bin/time -o "$tf" -f '%U %S %M' "$@")" || { rm -f "$tf"; return 1; }
    else o="$(timeout 600 "$@")" || return 1; echo "0 0 0" >"$tf"; fi
    t1=$(date +%s%N)
    if [ $i = 0 ]; then ref="$o"; elif [ "$o" != "$ref" ]; then echo "bench: output changed between runs of $*" >&2; rm -f "$tf"; return 1; fi
    ws+=("$(( (t1 - t0) / 1000 ))")
    cs+=("$(tail -1 "$tf" | awk '{ printf "%d", ($1 + $2) * 1e6 }')")
    ms+=("$(tail -1 "$tf" | awk '{ printf "%d", $3 * 1e3 / 1.048576 }')")
  done
  rm -f "$tf"
  med() { sort -n | awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.3f", m / 1e6}'; }
  echo "$(printf '%s\n' "${ws[@]}" | med) $(printf '%s\n' "${cs[@]}" | med) $(printf '%s\n' "${ms[@]}" | med | awk '{ printf "%.0f", $1 }')"
}

# medians "wall cpu rss" ...: the median of each column over single runs (median with N=1).
medians() {
  local col
  for col in 1 2 3; do
    printf '%s\n' "$@" | awk -v c=$col '{ print $c }' | sort -n |
      awk '{a[NR]=$1} END {m = (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf (c == 3 ? "%.0f" : "%.3f"), m}' c=$col
    [ $col -lt 3 ] && printf ' '
  done
  echo
}

# Runs a command once (untimed), sampling its host process tree every ~20 ms with ps: prints the peak number of
# host processes, the peak number of host threads (sum of nlwp) and the peak summed RSS in MiB (pages shared
# copy-on-write between forked host processes are counted once per process).
peak() {
  "$@" >/dev/null 2>&1 &
  local pid=$! p=0 t=0 r=0 s
  while kill -0 "$pid" 2>/dev/null; do
    s="$(ps -e -o pid=,ppid=,nlwp=,rss= 2>/dev/null | awk -v root="$pid" '
      { pp[$1] = $2; n[$1] = $3; r[$1] = $4 }
      END { for (q in pp) { x = q; for (d = 0; d < 64 && x != "" && x != 0; d++) { if (x == root) { P++; T += n[q]; R += r[q]; break } x = pp[x] } }
            printf "%d %d %d", P, T, R }')"
    set -- $s
    [ "$1" -gt "$p" ] && p=$1; [ "$2" -gt "$t" ] && t=$2; [ "$3" -gt "$r" ] && r=$3
    sleep 0.02
  done
  wait "$pid" 2>/dev/null || true
  echo "$p $t $(( r / 1024 ))"
}

rows=() mrows=() failed=()
# run [mem=1] label env-assignment-or-"-" command...: native (when possible), qemu-i386 and compat32, outputs
# compared first; with mem=1 also the memory/threads table.
run() {
  local label="$1" envset="$2"; shift 2
  [[ -z "${BENCH_ONLY:-}" || "$label" =~ $BENCH_ONLY ]] || return 0
  local oq oc on=""
  oq="$(timeout 600 qemu-i386 "${qcpu[@]}" "$@")" || { echo "bench: $label: qemu-i386 failed" >&2; exit 1; }
  if ! oc="$(timeout 600 env ${envset/#-/} "$c32" "$@")" || [ "$oq" != "$oc" ]; then
    echo "bench: $label: FAILS under compat32 (exit status or output differs from qemu-i386); row skipped, see BENCHMARKS.md notes" >&2
    failed+=("$label"); rows+=("| $label | - | - | FAILED under compat32 | - | - | - | - |"); return 0
  fi
  if [ $native = 1 ] && [ "${nonative:-0}" = 0 ]; then on="$(timeout 600 "$@")" || on="(failed)"; [ "$on" = "$oq" ] || echo "bench: $label: native output differs from qemu-i386" >&2; fi
  local n=(- - -) q c
  [ $native = 1 ] && [ "${nonative:-0}" = 0 ] && n=($(median "$@"))
  # qemu-i386 and compat32 runs alternate, so a drift of this VM's speed during the row (seen: 20% within
  # minutes) weighs on both medians alike instead of on whichever ran second.
  local qr=() cr=() one k ok=1
  for ((k = 0; k < N; k++)); do
    one="$(N=1 median qemu-i386 "${qcpu[@]}" "$@")" || { echo "bench: $label: qemu-i386 run failed" >&2; exit 1; }
    qr+=("$one")
    one="$(N=1 median env ${envset/#-/} "$c32" "$@")" || { ok=0; break; }
    cr+=("$one")
  done
  q=($(medians "${qr[@]}"))
  if [ $ok = 0 ] || ! c=($(medians "${cr[@]}")); then
    echo "bench: $label: a timed compat32 run FAILED; row skipped" >&2
    failed+=("$label"); rows+=("| $label | ${n[0]} | ${q[0]} | FAILED under compat32 | - | ${q[1]} | - | - |"); return 0
  fi
  local r rc
  r="$(awk -v c="${c[0]}" -v q="${q[0]}" 'BEGIN { printf "%.2f", c / q }')"
  rc="$(awk -v c="${c[1]}" -v q="${q[1]}" 'BEGIN { if (q > 0) printf "%.2f", c / q; else print "-" }')"
  printf '%-48s native %7s  qemu %7.3f s (cpu %6.3f)  compat32 %7.3f s (cpu %6.3f)  ratio %6.2fx (cpu %5sx)\n' "$label" "${n[0]}" "${q[0]}" "${q[1]}" "${c[0]}" "${c[1]}" "$r" "$rc" >&2
  rows+=("| $label | ${n[0]} | ${q[0]} | ${c[0]} | **${r}x** | ${q[1]} | ${c[1]} | ${rc}x |")
  if [ "${mem:-0}" = 1 ]; then
    local pn=(- - -) pq pc
    [ $native = 1 ] && [ "${nonative:-0}" = 0 ] && pn=($(peak "$@"))
    pq=($(peak qemu-i386 "${qcpu[@]}" "$@")); pc=($(peak env ${envset/#-/} "$c32" "$@"))
    printf '%-48s max RSS native %s qemu %s compat32 %s MiB; peak procs/threads/tree-RSS native %s/%s/%s qemu %s/%s/%s compat32 %s/%s/%s\n' \
      "$label" "${n[2]}" "${q[2]}" "${c[2]}" "${pn[@]}" "${pq[@]}" "${pc[@]}" >&2
    mrows+=("| $label | ${n[2]} | ${q[2]} | ${c[2]} | ${pn[0]} / ${pn[1]} / ${pn[2]} | ${pq[0]} / ${pq[1]} / ${pq[2]} | ${pc[0]} / ${pc[1]} / ${pc[2]} |")
  fi
}

# busybox sh loops: fork + exec of an x86-64 host program (/bin/true: compat32 runs it as a host child, qemu-i386
# hands it to the host kernel) and of an i386 program (busybox itself: compat32 loads it in-process; qemu-i386's
# execve goes to the host kernel too, which runs the i386 binary natively when no binfmt_misc entry sends it
# back to qemu).
loop_host='i=0; while [ $i -lt 500 ]; do /bin/true; i=$((i+1)); done; echo $i'
loop_i386="i=0; while [ \$i -lt 500 ]; do $bb true; i=\$((i+1)); done; echo \$i"
conc='for i in $(seq 100); do sleep 1 & done; wait; echo done'

run "cpu-bound (bench/cpubench.c)" - "$cpu"
run "cpu-bound, interpreter only (COMPAT32_JIT=0)" COMPAT32_JIT=0 "$cpu"
run "cpu-bound, SSE instructions interpreted (COMPAT32_JIT_SIMD=0)" COMPAT32_JIT_SIMD=0 "$cpu"
run "cpu-bound, i686 features for compat32 (no SSE in CPUID)" COMPAT32_CPU_FEATURES=i686 "$cpu"
run "SIMD kernel (bench/simdkernel.c, -msse4.2 -ftree-vectorize)" - "$simdk"
run "SIMD kernel, SSE interpreted (COMPAT32_JIT_SIMD=0)" COMPAT32_JIT_SIMD=0 "$simdk"
run "MMX kernel (bench/mmxkernel.c, -mmmx)" - "$mmxk"
run "MMX kernel, 400 rounds, MMX interpreted (COMPAT32_JIT_MMX=0)" COMPAT32_JIT_MMX=0 "$mmxk" 400
if [ -x "$srsimd/usr/bin/openssl" ]; then
  ossl=(-L "$srsimd" "$srsimd/usr/bin/openssl")
  k=000102030405060708090a0b0c0d0e0f
  nonative=1 run "openssl dgst -sha256, 16 MiB (SSSE3 path)" - "${ossl[@]}" dgst -sha256 "$big"
  nonative=1 run "openssl enc -aes-128-ctr, 16 MiB (AES-NI)" - "${ossl[@]}" enc -aes-128-ctr -K $k -iv $k -in "$big" -out /dev/null
  nonative=1 run "openssl GMAC (AES-128-GCM GHASH, PCLMULQDQ), 16 MiB" - "${ossl[@]}" mac -cipher AES-128-GCM -macopt hexkey:$k -macopt hexiv:${k:0:24} -in "$big" GMAC
  nonative=1 run "openssl dgst -sha256, 128 MiB (SSSE3 path)" - "${ossl[@]}" dgst -sha256 "$big128"
  nonative=1 run "openssl enc -aes-128-ctr, 128 MiB (AES-NI)" - "${ossl[@]}" enc -aes-128-ctr -K $k -iv $k -in "$big128" -out /dev/null
  nonative=1 run "openssl GMAC (AES-128-GCM GHASH, PCLMULQDQ), 128 MiB" - "${ossl[@]}" mac -cipher AES-128-GCM -macopt hexkey:$k -macopt hexiv:${k:0:24} -in "$big128" GMAC
else
  echo "bench: no openssl in $srsimd (./test.sh builds that sysroot): openssl rows skipped" >&2
fi
run "syscall-bound (getppid x 1e6)" - "$sys"
run "startup (busybox true)" - "$bb" true
run "fork+exec x86-64 /bin/true x 500 (busybox sh)" - "$bb" sh -c "$loop_host"
run "fork+exec i386 busybox true x 500 (busybox sh)" - "$bb" sh -c "$loop_i386"
run "mutex/condvar ping-pong, 2 threads x 100k" - "$pingpong" 100000
run "LOCK XADD counter, 8 threads x 2M" - "$xadd" 8 2000000
mem=1 run "fork+exit with 256 MiB touched heap" - "$forkheap" 256
mem=1 run "1000 threads (create, barrier, 1 ms sleep, join)" - "$threads" 1000 1000
run "1000 threads (create, barrier, join; no sleep)" - "$threads" 1000 0
mem=1 run "100 concurrent children (busybox sh, sleep 1 &)" - "$bb" sh -c "$conc"
run "loopback TCP, 1 GiB between two processes" - "$net" tput 1073741824
run "loopback TCP ping-pong, 64-byte request/response x 20k" - "$net" rr 20000

model="$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')"
sec="$(mktemp)"
{
  echo "## Latest \`bench/run.sh\` run"
  echo
  echo "Generated by \`bench/run.sh\` (median of $N runs, qemu-i386 and compat32 runs alternating; wall time and CPU time = user+sys, seconds). Ratio = compat32 / qemu-i386 (lower is better). Native = the same static i386 binary run directly by the host kernel (IA32 emulation). Load average before the run: $load0; at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "Machine: $(nproc) CPUs, $model; $(uname -sr); $(qemu-i386 --version | head -1); dotnet $(dotnet --version 2>/dev/null || echo '?'). Date: $(date -u '+%Y-%m-%d %H:%M UTC')."
  echo
  echo "| benchmark | native wall (s) | qemu-i386 wall (s) | compat32 wall (s) | ratio wall | qemu-i386 cpu (s) | compat32 cpu (s) | ratio cpu |"
  echo "|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "Host memory and threads of the process/thread rows. Max RSS (MiB, median): the largest single host process of a run (/usr/bin/time %M). Peak (one extra untimed run, sampled every ~20 ms with ps): host processes / host threads / summed RSS (MiB) of the whole host process tree."
  echo
  echo "| benchmark | native max RSS | qemu-i386 max RSS | compat32 max RSS | native peak procs / threads / RSS | qemu-i386 peak procs / threads / RSS | compat32 peak procs / threads / RSS |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${mrows[@]}"
  if [ ${#failed[@]} -gt 0 ]; then echo; echo "Rows that FAILED under compat32 in this run: $(IFS=';'; echo "${failed[*]}" | sed 's/;/; /g')."; fi
  if [ -f "$here/NOTES.md" ]; then echo; cat "$here/NOTES.md"; fi
} > "$sec"
splice_section "$root/BENCHMARKS.md" run.sh "$sec"; rm -f "$sec"
echo "bench: wrote the run.sh section of $root/BENCHMARKS.md" >&2
