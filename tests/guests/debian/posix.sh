# POSIX shell features over external coreutils: run by bash and by dash (sh).
set -u
echo "== pipelines"
seq 1 20 | sort -r | head -n 5 | tr '\n' ' '; echo
printf 'b a\nc b\na c\nb a\n' | sort | uniq -c | sort -k1,1nr -k2 | tr -s ' '
printf 'x:y:z\n1:2:3\n' | cut -d: -f2,3 | wc -l
seq 100 | tail -n 3 | head -n 1
echo "== status of pipelines and lists"
false | true; echo "pipe $?"
true | false; echo "pipe $?"
! false; echo "not $?"
false || echo "or"; true && echo "and"
echo "== subshells"
x=outer
(x=inner; echo "in $x"; exit 7); echo "status $? x=$x"
( cd /; pwd ); echo "back"
echo "== command substitution"
n=$(seq 1 10 | wc -l); echo "n=$n"
s=$(printf 'a\nb\n\n\n'); echo "[$s]"
nested=$(echo $(echo $(echo deep))); echo "$nested"
sum=0; for i in $(seq 1 10); do sum=$((sum + i)); done; echo "sum=$sum"
echo "== background jobs and wait"
(sleep 0.2; echo "slow") > bg1.out &
p1=$!
(echo "fast") > bg2.out &
p2=$!
wait $p2; echo "wait2 $?"
wait $p1; echo "wait1 $?"
cat bg2.out bg1.out
(exit 42) & wait $!; echo "bg status $?"
for i in 1 2 3 4; do (echo "job $i" > job$i.out) & done; wait
cat job1.out job2.out job3.out job4.out
echo "== traps"
trap 'echo got USR1' USR1
kill -USR1 $$
trap 'echo got USR2; trap - USR2' USR2
kill -USR2 $$
trap - USR1
( trap 'echo sub TERM; exit 3' TERM; sh -c 'kill -TERM $PPID'; sleep 5 ); echo "sub status $?"
trap 'echo exiting' EXIT
echo "== here-documents"
v=value
cat <<END
plain $v $(echo subst) $((6 * 7))
  indented
END
cat <<'END'
quoted $v $(echo no)
END
tr a-z A-Z <<END | rev
here $v
END
while read -r a b; do echo "<$b|$a>"; done <<END
one 1
two 2
three 3
END
echo "== loops over external programs"
for w in pear apple fig banana; do echo "$w"; done | sort | head -n 3
for f in job*.out; do wc -c < "$f"; done | uniq -c | tr -s ' '
i=0; while [ $i -lt 5 ]; do i=$(expr $i + 1); printf '%s ' "$i"; done; echo
seq 5 | while read -r k; do echo "k$k"; done | tr '\n' ,; echo
case "$(echo abc | tr b X)" in aXc) echo "case ok" ;; *) echo "case bad" ;; esac
echo "== redirections"
echo one > r.txt; echo two >> r.txt; exec 3< r.txt; read -r l1 <&3; read -r l2 <&3; exec 3<&-; echo "$l2 $l1"
ls nosuchfile 2>&1 >/dev/null | wc -l
{ echo to-err >&2; } 2>&1 | cat
echo "== exit"
sh -c 'exit 5'; echo "sh $?"
nosuchcommand 2>/dev/null; echo "missing $?"
exit 3
