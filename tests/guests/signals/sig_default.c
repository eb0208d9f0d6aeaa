/* Default actions (kernel/signal.c sig_kernel_*): sig_default SIGNO raises SIGNO with SIG_DFL; "alarm" lets
 * alarm(1) expire in pause(). Terminate, terminate with core, or ignore (then exit 0). Compared with qemu-i386's
 * exit status; the core flag is checked against the kernel's SIG_KERNEL_COREDUMP_MASK. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    if (!strcmp(argv[1], "alarm")) { alarm(1); pause(); return 3; }
    int s = atoi(argv[1]);
    signal(s, SIG_DFL);
    raise(s);
    printf("survived %d\n", s);
    return 0;
}
