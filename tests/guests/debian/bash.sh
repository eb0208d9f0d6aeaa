# bash-only features, run by bash.
set -u
echo "== arrays and strings"
a=(zeta alpha mu beta); echo "${#a[@]} ${a[1]} ${a[@]:1:2}"
printf '%s\n' "${a[@]}" | sort | tr '\n' ' '; echo
declare -A m=([one]=1 [two]=2 [three]=3); for k in $(printf '%s\n' "${!m[@]}" | sort); do echo "$k=${m[$k]}"; done
s="Hello, World"; echo "${s,,} ${s^^} ${s/World/There} ${s:7} ${#s}"
echo "== PIPESTATUS"
false | true | (exit 4); echo "${PIPESTATUS[@]}"
set -o pipefail; false | true; echo "pipefail $?"; set +o pipefail
echo "== coprocess"
coproc SORTER { sort -n; }
cpid=$SORTER_PID; exec {cin}<&"${SORTER[0]}" {cout}>&"${SORTER[1]}"
exec {SORTER[1]}>&-
printf '3\n1\n2\n' >&$cout; exec {cout}>&-
while read -r l <&$cin; do echo "co $l"; done
wait $cpid; echo "coproc $?"
echo "== jobs"
sleep 0.1 & sleep 0.1 & wait; echo "waited all"
( (sleep 0.3; exit 9) & wait -n; echo "wait -n $?" )  # the job still runs when wait -n starts (bash 5.2 drops a job that died and was noted before it: 127)
echo "== traps"
trap 'echo "ERR at $LINENO"' ERR
false
trap - ERR
f() { local x=$1; trap 'echo "RETURN from f"' RETURN; echo "f $x"; }
f 1; trap - RETURN
count=0; trap 'count=$((count + 1))' USR1
for i in 1 2 3; do kill -USR1 $$; done; echo "usr1 x$count"
trap 'echo bye' EXIT
echo "== read, printf"
IFS=: read -r u p rest <<< "a:b:c:d"; echo "$u $p $rest"
printf -v out '%05d|%-4s|%x' 42 ab 255; echo "$out"
echo "== arithmetic"
echo $(( 2**31 - 1 )) $(( -7 / 2 )) $(( -7 % 3 )) $(( 1 << 40 )) $(( 0x7f ^ 0x0f ))
exit 0
