# busybox httpd + wget and nc -l + nc on 127.0.0.1:$1 (the test picks a free port).
p=$1
mkdir -p www && echo "hello over http" > www/index.html
httpd -f -p 127.0.0.1:$p -h www & h=$!
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do wget -q -O - http://127.0.0.1:$p/index.html 2>/dev/null && break; sleep 0.2; done
wget -q -O fetched.html http://127.0.0.1:$p/index.html && cat fetched.html
wget -q -O - http://127.0.0.1:$p/missing.html 2>/dev/null; echo "missing: $?"
kill $h; wait $h 2>/dev/null
nc -l -p $p > got.txt & n=$!
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do echo "via nc $i" | nc 127.0.0.1 $p 2>/dev/null && break; sleep 0.2; done
wait $n; echo "nc listener: $?"; sed 's/ [0-9]*$//' got.txt
