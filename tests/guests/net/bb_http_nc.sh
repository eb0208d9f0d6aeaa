# busybox httpd + wget and nc -l + nc on 127.0.0.1:$1 (the test picks a free port).
p=$1
mkdir -p www && echo "hello over http" > www/index.html
httpd -f -p 127.0.0.1:$p -h www & h=$!
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do wget -q -O - http://127.0.0.1:$p/index.html 2>/dev/null && break; sleep 0.2; done
wget -q -O fetched.html http://127.0.0.1:$p/index.html && cat fetched.html
wget -q -O - http://127.0.0.1:$p/missing.html 2>/dev/null; echo "missing: $?"
kill $h; wait $h 2>/dev/null
# The client reads a file, not a pipe, and the exchange is tried again if the listener got nothing: under
# qemu-i386 a client once connected, sent nothing and exited 0 (its pipe writer then got EPIPE).
echo "via nc" > msg.txt
for attempt in 1 2 3; do
  nc -l -p $p > got.txt & n=$!
  for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do nc 127.0.0.1 $p < msg.txt 2>/dev/null && break; sleep 0.2; done
  wait $n; r=$?
  [ -s got.txt ] && break
done
echo "nc listener: $r"; cat got.txt
