/* string functions over many lengths and alignments (libc picks its i686 string routines through ifunc). */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <ctype.h>
#include <stdlib.h>
#include <stdint.h>

static uint32_t h;
static void mix(long v) { h = (h ^ (uint32_t)v) * 16777619u; }

int main(void)
{
    static char a[600], b[600], c[1300];
    int off, len;
    for (off = 0; off < 8; off++)
        for (len = 0; len < 300; len += (len < 40 ? 1 : 37)) {
            char *s = a + off, *t = b + (off * 3 % 8);
            for (int i = 0; i < len; i++) s[i] = (char)('a' + (i * 7 + off) % 26);
            s[len] = 0;
            strcpy(t, s);
            mix(strlen(s)); mix(strcmp(s, t)); mix(memcmp(s, t, len));
            if (len) { t[len - 1] = 'A'; mix(strcmp(s, t) > 0); mix(strncmp(s, t, len - 1)); mix(memcmp(s, t, len) > 0); }
            mix(strchr(s, 'q') ? strchr(s, 'q') - s : -1);
            mix(strrchr(s, 'e') ? strrchr(s, 'e') - s : -1);
            mix(memchr(s, 'z', len) ? (char *)memchr(s, 'z', len) - s : -1);
            mix(strnlen(s, 17));
            strcpy(c, s); strcat(c, t); mix(strlen(c));
            mix(strstr(c, "hov") ? strstr(c, "hov") - c : -1);
            mix(strspn(s, "abcdefgh")); mix(strcspn(s, "xyz"));
            memset(c, off, len); mix(c[len ? len - 1 : 0]);
            memcpy(c + 1, s, len); memmove(c + 3, c + 1, len); mix(memcmp(c + 3, s, len));
            memmove(c, c + 2, len); mix(c[0]);
            mix(strcasecmp(s, t));
        }
    printf("hash %08x\n", h);
    char tok[] = "alpha, beta;gamma  delta,,epsilon";
    for (char *p = strtok(tok, ", ;"); p; p = strtok(NULL, ", ;")) printf("[%s]", p);
    putchar('\n');
    char sp[] = "a:b::c";
    char *rest = sp, *f;
    while ((f = strsep(&rest, ":"))) printf("<%s>", f);
    putchar('\n');
    char out[16];
    int n = snprintf(out, sizeof out, "%s-%d-%x", "truncate me please", 12345, 0xabcdef);
    printf("snprintf %d '%s'\n", n, out);
    char *d = strdup("Mixed Case 123!");
    for (char *p = d; *p; p++) *p = isalpha((unsigned char)*p) ? (char)toupper((unsigned char)*p) : *p;
    printf("%s %zu\n", d, strlen(d));
    free(d);
    char *nd = strndup("abcdefgh", 3);
    printf("%s %s %s\n", nd, strpbrk("hello world", "ow"), index("xyz", 'y'));
    free(nd);
    printf("ffs %d %d %d\n", ffs(0), ffs(0x80), ffs(0x80000000));
    return 0;
}
