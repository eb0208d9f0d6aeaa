# bash process substitution: <(...) and >(...) are /dev/fd/N paths naming the shell's own pipe descriptors.
diff <(seq 1 5) <(seq 1 6)
echo "diff $?"
mapfile -t lines < <(seq 3 -1 1); echo "${lines[*]}"
while read -r w; do echo "w=$w"; done < <(printf 'b\na\n' | sort)
echo hello > >(tr a-z A-Z > upper.txt)
wait $!
cat upper.txt
paste -d, <(seq 3) <(seq 4 6)
