/* exit status paths: return from main, exit(), _exit(), atexit handlers and stdio flushing at exit. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void bye(void) { printf("atexit handler\n"); }

int main(int argc, char **argv)
{
    int code = argc > 2 ? atoi(argv[2]) : 0;
    const char *how = argc > 1 ? argv[1] : "return";
    atexit(bye);
    printf("buffered output for %s %d", how, code); /* no newline: must be flushed by exit */
    if (how[0] == 'e') exit(code);
    if (how[0] == '_') { fflush(stdout); _exit(code); }
    return code;
}
