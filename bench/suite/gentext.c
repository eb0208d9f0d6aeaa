/* Deterministic text-like input for the compressor and gawk rows (built for the host; not a benchmark):
   gentext BYTES > file (exactly BYTES bytes). Words of 1-4 syllables from a 4096-word vocabulary chosen with a skewed (roughly
   Zipf-like) distribution, numbers and punctuation, lines of up to 72 characters: compresses about as text does. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
static uint64_t s = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) { s ^= s << 13; s ^= s >> 7; s ^= s << 17; return (uint32_t)(s >> 16); }
int main(int argc, char **argv) {
    long total = argc > 1 ? atol(argv[1]) : 20L << 20, out = 0;
    static const char *syl[] = {"ka","ro","ten","mi","sa","lo","ver","an","dor","pe","li","gu","ma","sto","ne","bri",
                                "the","in","al","qua","ze","fo","ri","mon","ta","el","vi","un","cor","es","ha","po"};
    static char vocab[4096][16];
    for (int i = 0; i < 4096; i++) {
        int n = 1 + (int)(rnd() % 4);
        vocab[i][0] = 0;
        for (int k = 0; k < n; k++) strcat(vocab[i], syl[rnd() % 32]);
    }
    char line[128]; int len = 0;
    while (out < total) {
        uint32_t r = rnd();
        char w[32];
        if (r % 17 == 0) snprintf(w, sizeof w, "%u", rnd() % 10000);
        else { uint32_t a = rnd() % 4096, b = rnd() % 4096, c = a < b ? a : b; snprintf(w, sizeof w, "%s", vocab[c < 64 ? c : c * c / 4096]); }
        if (r % 23 == 0) strcat(w, ",");
        if (r % 29 == 0) strcat(w, ".");
        int wl = (int)strlen(w);
        if (len + wl + 1 > 72) {   /* a full line; the last one is cut so that exactly BYTES come out */
            line[len++] = '\n';
            if (len > total - out) len = (int)(total - out);
            fwrite(line, 1, (size_t)len, stdout); out += len; len = 0;
        }
        if (len) line[len++] = ' ';
        memcpy(line + len, w, (size_t)wl); len += wl;
    }
    return 0;
}
