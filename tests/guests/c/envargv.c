/* argv and the environment as the kernel laid them out, getenv/setenv/unsetenv/putenv. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;
static int cmp(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

int main(int argc, char **argv, char **envp)
{
    printf("argc=%d\n", argc);
    for (int i = 1; i < argc; i++) printf("argv[%d]=[%s] len %zu\n", i, argv[i], strlen(argv[i]));
    printf("argv[argc]=%p\n", (void *)argv[argc]);
    printf("envp==environ %d, envp after argv %d\n", envp == environ, envp == argv + argc + 1);
    int n = 0;
    const char *mine[64]; int m = 0;
    /* the order of the caller's environment is not compared: the ./compat32 launcher is a shell script */
    for (char **e = envp; *e; e++, n++)
        if (strncmp(*e, "C32T_", 5) == 0 && m < 64) mine[m++] = *e;
    qsort(mine, m, sizeof mine[0], cmp);
    for (int i = 0; i < m; i++) printf("env %s\n", mine[i]);
    printf("env count >0 %d\n", n > 0);
    printf("getenv C32T_A=%s missing=%p\n", getenv("C32T_A"), (void *)getenv("C32T_NOPE"));
    setenv("C32T_NEW", "v1", 0); setenv("C32T_NEW", "v2", 0); printf("setenv no-overwrite %s\n", getenv("C32T_NEW"));
    setenv("C32T_NEW", "v3", 1); printf("setenv overwrite %s\n", getenv("C32T_NEW"));
    unsetenv("C32T_A"); printf("unset %p\n", (void *)getenv("C32T_A"));
    putenv("C32T_PUT=yes"); printf("putenv %s\n", getenv("C32T_PUT"));
    return 0;
}
