/* The [vvar] data page stays current in every process: coarse clocks, read from it alone (no TSC), advance across
 * a sleep in a parent and in its forked child alike, and agree with the syscall; [vvar] is a private read-only
 * mapping in /proc/self/maps, as on Linux. Prints "vvar_fork: N problems". */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static long long ns(struct timespec t) { return t.tv_sec * 1000000000LL + t.tv_nsec; }

static int check(const char *who) {
    int bad = 0;
    clockid_t clocks[] = { CLOCK_MONOTONIC_COARSE, CLOCK_REALTIME_COARSE };
    for (int c = 0; c < 2; c++) {
        struct timespec a, s, b;
        clock_gettime(clocks[c], &a);
        usleep(40000);
        syscall(SYS_clock_gettime, clocks[c], &s);
        clock_gettime(clocks[c], &b);
        /* the syscall's reading comes first; the page may be a tick behind the timekeeper or the vDSO's read a
           tick later: a few ticks either way, not a stale page */
        long long moved = ns(b) - ns(a), skew = ns(b) - ns(s);
        if (moved < 20000000LL) { bad++; printf("%s: clock %d moved %lld ns over a 40 ms sleep\n", who, clocks[c], moved); }
        if (skew < -20000000LL || skew > 20000000LL) { bad++; printf("%s: clock %d: vDSO %lld ns after the syscall\n", who, clocks[c], skew); }
    }
    FILE *f = fopen("/proc/self/maps", "r");
    char line[256]; int found = 0;
    while (f && fgets(line, sizeof line, f))
        if (strstr(line, "[vvar]")) {
            found = 1;
            char perms[8] = "";
            sscanf(line, "%*s %7s", perms);
            if (strcmp(perms, "r--p")) { bad++; printf("%s: [vvar] is %s\n", who, perms); }
        }
    if (f) fclose(f);
    if (!found) { bad++; printf("%s: no [vvar] in /proc/self/maps\n", who); }
    return bad;
}

int main(void) {
    pid_t pid = fork();
    if (pid == 0) _exit(check("child") ? 1 : 0);
    int bad = check("parent"), st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) { bad++; printf("child failed (status %x)\n", st); }
    printf("vvar_fork: %d problems\n", bad);
    return bad != 0;
}
