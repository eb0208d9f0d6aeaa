# Blocking calls interrupted by timeouts and signals: read -t on a pipe, a trap while waiting, timeout(1).
sleep 2 | { read -t 0.3 x; echo "read -t $?"; }
trap 'echo "USR1 while waiting"' USR1
( sleep 0.2; kill -USR1 $$ ) &
sleep 1 & wait $!; echo "wait interrupted $?"
wait; echo "all done $?"
trap - USR1
timeout -s INT 0.3 sleep 3; echo "timeout $?"
timeout 3 sh -c 'echo inner; exit 6'; echo "timeout passthrough $?"
sh -c 'kill -TERM $$'; echo "self-kill $?"
sh -c 'trap "echo caught HUP; exit 9" HUP; kill -HUP $$; sleep 1'; echo "trap in child $?"
