/* fork, vfork, wait4/waitid with every si_code we can provoke deterministically, execve (ELF, #! script,
 * /proc/self/exe), signals between processes, process groups and pidfds. Output is compared with qemu-i386. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <fcntl.h>
#include <errno.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/times.h>
#include <time.h>

static volatile sig_atomic_t got_usr1, chld_pid, chld_status, chld_code;
static void on_usr1(int s) { got_usr1 = 1; }
static void on_chld(int s, siginfo_t *si, void *u) { chld_pid = si->si_pid; chld_status = si->si_status; chld_code = si->si_code; }

static int global = 1;

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "reexec") == 0) { printf("reexec: argv[2]=%s\n", argv[2]); return 42; }
  setvbuf(stdout, NULL, _IONBF, 0);
  int st;
  /* 1. fork: copy-on-write and exit status */
  pid_t p = fork();
  if (p == 0) { global = 2; _exit(global + 5); }
  if (waitpid(p, &st, 0) != p) printf("waitpid failed\n");
  printf("fork: exited=%d code=%d parent global=%d\n", WIFEXITED(st), WEXITSTATUS(st), global);

  /* 2. killed by a signal; wait4 with rusage */
  p = fork();
  if (p == 0) { raise(SIGTERM); _exit(1); }
  struct rusage ru;
  if (wait4(p, &st, 0, &ru) != p) printf("wait4 failed\n");
  printf("signaled=%d sig=%d\n", WIFSIGNALED(st), WTERMSIG(st));

  /* 3. waitid: CLD_EXITED, CLD_STOPPED, CLD_CONTINUED, CLD_KILLED, and WNOHANG with nothing to report */
  siginfo_t si;
  /* The child waits on a pipe after it is continued: had it exited already, the WCONTINUED-only waitid
     would find no continued child (it is a zombie) and the line would depend on timing. */
  int cont[2];
  if (pipe(cont)) return 1;
  p = fork();
  if (p == 0) { char c; close(cont[1]); raise(SIGSTOP); while (read(cont[0], &c, 1) < 0) {} _exit(9); }
  close(cont[0]);
  memset(&si, 0, sizeof si);
  waitid(P_PID, p, &si, WSTOPPED);
  printf("waitid stopped: code=%d(CLD_STOPPED=%d) status=%d pid_ok=%d\n", si.si_code, CLD_STOPPED, si.si_status, si.si_pid == p);
  kill(p, SIGCONT);
  memset(&si, 0, sizeof si);
  waitid(P_PID, p, &si, WCONTINUED);
  printf("waitid continued: code=%d status=%d\n", si.si_code, si.si_status);
  close(cont[1]);
  memset(&si, 0, sizeof si);
  waitid(P_PID, p, &si, WEXITED);
  printf("waitid exited: code=%d status=%d\n", si.si_code, si.si_status);
  p = fork();
  if (p == 0) { pause(); _exit(0); }
  memset(&si, 0xff, sizeof si);
  int r = waitid(P_PID, p, &si, WEXITED | WNOHANG);
  printf("waitid WNOHANG: r=%d pid=%d signo=%d\n", r, si.si_pid, si.si_signo);
  kill(p, SIGKILL);
  memset(&si, 0, sizeof si);
  waitid(P_ALL, 0, &si, WEXITED);
  printf("waitid killed: code=%d status=%d\n", si.si_code, si.si_status);
  r = wait(&st); /* argument order is unspecified: read errno only after the call */
  printf("no children: %d errno=%s\n", r, strerror(errno));

  /* 4. SIGCHLD with siginfo */
  struct sigaction sa; memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_chld; sa.sa_flags = SA_SIGINFO;
  sigaction(SIGCHLD, &sa, NULL);
  p = fork();
  if (p == 0) _exit(33);
  while (!chld_pid) usleep(1000);
  waitpid(p, &st, 0);
  printf("SIGCHLD: pid_ok=%d status=%d code=%d\n", chld_pid == p, chld_status, chld_code);
  signal(SIGCHLD, SIG_DFL);

  /* 5. signals to a child: a handler runs there, the parent learns by a pipe */
  int fds[2]; pipe(fds);
  p = fork();
  if (p == 0) {
    /* block first and wait in sigsuspend: a check-then-pause() loop loses a signal that lands in between */
    sigset_t usr1, old;
    sigemptyset(&usr1); sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    signal(SIGUSR1, on_usr1);
    write(fds[1], "r", 1);
    while (!got_usr1) sigsuspend(&old);
    write(fds[1], "g", 1);
    _exit(0);
  }
  char c; read(fds[0], &c, 1);
  kill(p, SIGUSR1);
  read(fds[0], &c, 1);
  waitpid(p, &st, 0);
  printf("kill: child saw SIGUSR1: %c, exit %d\n", c, WEXITSTATUS(st));

  /* 6. process groups: setpgid, kill(-pgid) */
  p = fork();
  if (p == 0) { setpgid(0, 0); write(fds[1], "x", 1); for (;;) pause(); }
  read(fds[0], &c, 1);
  printf("pgid: child is group leader=%d, ours differs=%d\n", getpgid(p) == p, getpgrp() != p);
  kill(-p, SIGTERM);
  waitpid(p, &st, 0);
  printf("kill(-pgid): sig=%d\n", WTERMSIG(st));
  printf("getsid(0)==getsid(getpid())=%d\n", getsid(0) == getsid(getpid()));

  /* 7. vfork: the parent sleeps until the child exits (qemu-i386 implements vfork as fork, so whether memory
   * is shared is not compared here; VforkSharesMemory checks it against Linux's rule) */
  p = vfork();
  if (p == 0) { _exit(12); }
  waitpid(p, &st, 0);
  printf("vfork: child exit %d\n", WEXITSTATUS(st));
  if (argc > 1 && strcmp(argv[1], "vfork-shares") == 0) {
    p = vfork();
    if (p == 0) { global = 77; _exit(0); }
    waitpid(p, &st, 0);
    printf("vfork shared global=%d\n", global);
  }

  /* 8. execve: ourselves through /proc/self/exe, and a #! script */
  p = fork();
  if (p == 0) { execl("/proc/self/exe", "self", "reexec", "hello", (char *)NULL); _exit(99); }
  waitpid(p, &st, 0);
  printf("exec self: status %d\n", WEXITSTATUS(st));
  char script[] = "/tmp/c32-script-XXXXXX";
  int sfd = mkstemp(script);
  /* the host's /bin/sh: a host-native interpreter (run as a host child) under both */
  dprintf(sfd, "#!/bin/sh -e\necho script arg=$1\nexit 5\n");
  fchmod(sfd, 0755); close(sfd);
  p = fork();
  if (p == 0) { execl(script, script, "one", (char *)NULL); printf("exec script failed: %s\n", strerror(errno)); _exit(98); }
  waitpid(p, &st, 0);
  printf("exec script: status %d\n", WEXITSTATUS(st));
  unlink(script);
  errno = 0;
  r = execl("/nonexistent/prog", "x", (char *)NULL);
  printf("exec missing: %d %s\n", r, strerror(errno));

  /* 9. pidfd */
  p = fork();
  if (p == 0) { for (;;) pause(); }
  int pfd = syscall(SYS_pidfd_open, p, 0);
  printf("pidfd_open ok=%d\n", pfd >= 0);
  printf("pidfd_send_signal=%ld\n", syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0));
  waitpid(p, &st, 0);
  printf("pidfd kill: sig=%d\n", WTERMSIG(st));

  /* 10. times(): a reaped child's CPU time is the parent's tms_cutime, not its own tms_utime */
  struct tms before, after;
  times(&before);
  p = fork();
  if (p == 0) { struct timespec a, b; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    do clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b); while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 300);
    _exit(0); }
  waitpid(p, &st, 0);
  times(&after);
  long cut = after.tms_cutime + after.tms_cstime - before.tms_cutime - before.tms_cstime;
  long own = after.tms_utime + after.tms_stime - before.tms_utime - before.tms_stime;
  printf("times: children %s, own %s\n", cut >= 20 && cut <= 200 ? "about 30 ticks" : "wrong", own < 15 ? "small" : "too large");
  return 0;
}
