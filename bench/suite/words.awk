# gawk over the generated text: word and number counts, field statistics, the 5 most frequent words.
{
    chars += length($0)
    for (i = 1; i <= NF; i++) {
        w = $i; gsub(/[.,]/, "", w)
        if (w ~ /^[0-9]+$/) { nums++; numsum += w } else { cnt[w]++; if (length(w) > 9) long++ }
    }
    nf[NF]++
}
END {
    PROCINFO["sorted_in"] = "@val_num_desc"
    k = 0
    for (w in cnt) { if (k++ < 5) top = top " " w ":" cnt[w] }
    printf "gawk lines %d chars %d words %d nums %d sum %d long %d top%s\n", NR, chars, length(cnt), nums, numsum, long, top
}
