/* PUSHA/POPA that fault (found by the instruction fuzzer): the SIGSEGV address is the first slot in push/pop
 * order that cannot be accessed, and PUSHA writes every whole slot before it (compat32 named the lowest slot and
 * wrote nothing; later it wrote 16-byte halves, which this test once could not tell apart: it counted a slot that
 * received 0 as unwritten). A byte counts as written when it differs from the fill in either of two runs whose
 * fills are complements, and the registers PUSHA stores are constants, so no value can pass for the fill by chance
 * (a register byte that equalled the fill once made the count differ between two correct kernels). A slot across
 * 4 GiB (POPA at ESP -1) is a page fault at -1 on the Intel host and #SS (SIGBUS, si_code SI_KERNEL) on the AMD host,
 * as the model of each vendor does; each line is flushed, so a signal not caught keeps what came before. */
#define _GNU_SOURCE
#include <signal.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdint.h>
#include <sys/mman.h>
#include <ucontext.h>

static sigjmp_buf back;
static volatile uint32_t addr, esp_at_fault;
static void handler(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    addr = (uint32_t)(uintptr_t)si->si_addr;
    esp_at_fault = uc->uc_mcontext.gregs[REG_UESP];
    siglongjmp(back, sig);
}

uint32_t saved_esp, target_esp;
static int try_op(int popa, uint32_t esp)
{
    int sig = sigsetjmp(back, 1);
    if (sig) return sig;
    target_esp = esp;
    /* every register is saved around the operation: a POPA that works loads all of them */
    if (popa)
        __asm__ volatile("pusha\nmov %%esp,saved_esp\nmov target_esp,%%esp\npopa\nmov saved_esp,%%esp\npopa" : : : "memory");
    else
        __asm__ volatile("pusha\nmov %%esp,saved_esp\nmov target_esp,%%esp\n"
                         "mov $0x11223344,%%eax\nmov $0x55667788,%%ecx\nmov $0x99aabbcc,%%edx\nmov $0xddeeff01,%%ebx\n"
                         "mov $0x23456789,%%ebp\nmov $0xabcdef12,%%esi\nmov $0x3456789a,%%edi\n"
                         "pusha\nmov saved_esp,%%esp\npopa" : : : "memory");
    return 0;
}

int main(void)
{
    static uint8_t altstack[65536];
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof altstack };
    sigaltstack(&ss, 0);
    struct sigaction sa = { .sa_sigaction = handler, .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER };
    sigaction(SIGSEGV, &sa, 0);
    sigaction(SIGBUS, &sa, 0);
    setvbuf(stdout, 0, _IOLBF, 0);
    /* one readable and writable page with an unmapped page above and below */
    uint8_t *p = mmap(0, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(p, 4096); munmap(p + 8192, 4096);
    uint32_t page = (uint32_t)(uintptr_t)p + 4096;
    for (int i = 0; i < 4096; i++) p[4096 + i] = (uint8_t)(i * 7);
    uint32_t tests[][2] = {
        { 0, page + 0x10 }, { 0, page + 0x20 }, { 0, page + 0x4 }, { 0, page }, { 0, page + 0x14 }, { 0, page + 0x1e }, { 0, page + 0x7 }, { 0, page + 4096 + 0x40 }, { 0, 0x7c },
        { 1, page + 4096 - 0x10 }, { 1, page + 4096 - 0x20 }, { 1, page + 4096 }, { 1, page - 0x10 }, { 1, 0xffffffff }, { 1, 0 },
    };
    for (unsigned t = 0; t < sizeof tests / sizeof *tests; t++) {
        static uint8_t written[4096];
        int sig = 0;
        uint32_t first_addr = 0, first_esp = 0;
        for (int run = 0; run < 2; run++) {
            uint8_t flip = run ? 0xff : 0;
            addr = 0;
            for (int i = 0; i < 4096; i++) p[4096 + i] = (uint8_t)(i * 7) ^ flip;
            int s = try_op(tests[t][0], tests[t][1]);
            for (int i = 0; i < 4096; i++) {
                uint8_t differs = p[4096 + i] != ((uint8_t)(i * 7) ^ flip);
                written[i] = run ? written[i] | differs : differs;
            }
            if (run == 0) { sig = s; first_addr = addr; first_esp = esp_at_fault; }
            else if (s != sig || addr != first_addr || esp_at_fault != first_esp) printf("run 2 differs: sig %d\n", s);
        }
        addr = first_addr; esp_at_fault = first_esp;
        int changed = 0;
        for (int i = 0; i < 4096; i++) changed += written[i];
        uint32_t e = tests[t][1];
        int rel = e - page < 0x2000 || page - e < 0x2000;
        printf("%s esp=%s%+d: sig %d addr %s%+d esp %s%+d, %d bytes changed\n", tests[t][0] ? "popa" : "pusha",
               rel ? "page" : "", rel ? (int)(e - page) : (int)e, sig, rel ? "page" : "", sig ? (int)(addr - (rel ? page : 0)) : 0,
               rel ? "page" : "", sig ? (int)(esp_at_fault - (rel ? page : 0)) : 0, changed);
    }
    return 0;
}
