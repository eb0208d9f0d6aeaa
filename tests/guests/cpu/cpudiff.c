/* Differential test of the integer CPU: every flag-setting instruction form over random and edge-case
 * operands (fixed seed), printing inputs, resulting registers, EFLAGS and the 16 condition codes as
 * SETcc sees them right after the instruction (so lazily evaluated flags are checked too).
 * The same binary runs under qemu-i386 and compat32; the outputs must be identical.
 * Flags the SDM leaves undefined for an instruction are masked out (see mask_for); each mask names
 * the SDM rule. Build: gcc -m32 -march=i686 -static -fno-pie -no-pie -O1 */
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define CF 0x001u
#define PF 0x004u
#define AF 0x010u
#define ZF 0x040u
#define SF 0x080u
#define OF 0x800u
#define DF 0x400u
#define ARITH (CF | PF | AF | ZF | SF | OF)

typedef struct { uint32_t a, b, c, d, si, di; } regs_t;
regs_t S;
uint32_t FIN, FOUT, CELL[4];
uint8_t CONDS[16];
uint8_t SRCBUF[512], DSTBUF[512], TABLE[256];

/* ------------------------------------------------------------------ output */
static char obuf[1 << 16];
static int olen;
static void flush(void) { int o = 0; while (o < olen) { int n = write(1, obuf + o, olen - o); if (n <= 0) break; o += n; } olen = 0; }
static void puts_(const char *s) { while (*s) { if (olen >= (int)sizeof obuf - 1) flush(); obuf[olen++] = *s++; } }
static void hex(uint32_t v) { char t[10]; for (int i = 7; i >= 0; i--) { t[i] = "0123456789abcdef"[v & 15]; v >>= 4; } t[8] = ' '; t[9] = 0; puts_(t); }

/* ------------------------------------------------------------------ rng */
static uint32_t rs = 0x12345678u;
static uint32_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 17; rs ^= rs << 5; return rs; }
static const uint32_t edge[] = { 0, 1, 2, 0x7f, 0x80, 0x81, 0xff, 0x100, 0x7fff, 0x8000, 0x8001, 0xffff, 0x10000,
    0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0xf, 0x10, 0x99, 0x9a, 0xf9, 0xfa, 0x5555aaaa };
static uint32_t operand(void)
{
    uint32_t k = rnd() % 8;
    if (k < 3) return edge[rnd() % (sizeof edge / sizeof edge[0])];
    if (k == 3) return rnd() & 0xff;
    if (k == 4) return rnd() & 0xffff;
    if (k == 5) return (uint32_t)(int32_t)(int8_t)rnd();
    return rnd();
}

/* ------------------------------------------------------------------ test bodies */
#define CONDSAVE "seto CONDS+0\n\tsetno CONDS+1\n\tsetb CONDS+2\n\tsetae CONDS+3\n\tsete CONDS+4\n\tsetne CONDS+5\n\t" \
    "setbe CONDS+6\n\tseta CONDS+7\n\tsets CONDS+8\n\tsetns CONDS+9\n\tsetp CONDS+10\n\tsetnp CONDS+11\n\t" \
    "setl CONDS+12\n\tsetge CONDS+13\n\tsetle CONDS+14\n\tsetg CONDS+15\n\t"
#define BODY(fn, insn) static void fn(void) { \
    asm volatile("pushl FIN\n\tpopfl\n\t" insn "\n\t" CONDSAVE "pushfl\n\tpopl FOUT\n\tcld" \
        : "+a"(S.a), "+b"(S.b), "+c"(S.c), "+d"(S.d), "+S"(S.si), "+D"(S.di) :: "cc", "memory"); }

/* Mask kinds: which flags the SDM defines after the instruction. */
enum { M_ALL, M_LOGIC, M_NONE, M_MUL, M_DIV, M_SHL, M_SHR, M_SAR, M_ROT, M_RC, M_SHD, M_BT, M_BS, M_DAA, M_AAA, M_AAM,
       M_POPF, M_ZF };
/* Input preparation kinds. */
enum { P_NONE, P_DIV, P_IDIV, P_CNT, P_XLAT, P_STR, P_LOOP, P_CX8, P_CX, P_POPF, P_SAHF, P_DF, P_STRO };

typedef struct { const char *name; void (*fn)(void); int mask, prep, bits; const char *insn; } test_t;

#define TESTS \
 /* ALU: reg,reg / high8 / imm / mem forms, every size */ \
 ALU(add, M_ALL) ALU(or, M_LOGIC) ALU(adc, M_ALL) ALU(sbb, M_ALL) ALU(and, M_LOGIC) ALU(sub, M_ALL) ALU(xor, M_LOGIC) \
 ALU(cmp, M_ALL) \
 X(testl_rr, "testl %%edx,%%eax", M_LOGIC, P_NONE, 32) X(testw_rr, "testw %%dx,%%ax", M_LOGIC, P_NONE, 16) \
 X(testb_rr, "testb %%dl,%%al", M_LOGIC, P_NONE, 8) X(testb_hh, "testb %%dh,%%ah", M_LOGIC, P_NONE, 8) \
 X(testl_ri, "testl $0x80000001,%%eax", M_LOGIC, P_NONE, 32) X(testb_mi, "testb $0x81,CELL", M_LOGIC, P_NONE, 8) \
 X(testw_mr, "testw %%dx,CELL", M_LOGIC, P_NONE, 16) \
 UN(inc, M_ALL) UN(dec, M_ALL) UN(neg, M_ALL) UN(not, M_ALL) \
 X(incl_r1, ".byte 0x40", M_ALL, P_NONE, 32) X(decw_r1, ".byte 0x66,0x4a", M_ALL, P_NONE, 16) \
 /* multiply / divide */ \
 X(mull, "mull %%edx", M_MUL, P_NONE, 32) X(mulw, "mulw %%dx", M_MUL, P_NONE, 16) X(mulb, "mulb %%dl", M_MUL, P_NONE, 8) \
 X(mulb_h, "mulb %%bh", M_MUL, P_NONE, 8) X(mull_m, "mull CELL", M_MUL, P_NONE, 32) X(mulw_m, "mulw CELL", M_MUL, P_NONE, 16) \
 X(imull1, "imull %%edx", M_MUL, P_NONE, 32) X(imulw1, "imulw %%dx", M_MUL, P_NONE, 16) X(imulb1, "imulb %%dl", M_MUL, P_NONE, 8) \
 X(imulb1_m, "imulb CELL", M_MUL, P_NONE, 8) X(imull1_m, "imull CELL", M_MUL, P_NONE, 32) \
 X(imull2, "imull %%edx,%%eax", M_MUL, P_NONE, 32) X(imulw2, "imulw %%dx,%%ax", M_MUL, P_NONE, 16) \
 X(imull2_m, "imull CELL,%%eax", M_MUL, P_NONE, 32) X(imulw2_m, "imulw CELL,%%ax", M_MUL, P_NONE, 16) \
 X(imull3, "imull $123457,%%edx,%%eax", M_MUL, P_NONE, 32) X(imull3_8, "imull $-3,%%edx,%%eax", M_MUL, P_NONE, 32) \
 X(imulw3, "imulw $-30001,%%dx,%%ax", M_MUL, P_NONE, 16) X(imulw3_8, "imulw $127,CELL,%%ax", M_MUL, P_NONE, 16) \
 X(divl, "divl %%ebx", M_DIV, P_DIV, 32) X(divw, "divw %%bx", M_DIV, P_DIV, 16) X(divb, "divb %%bl", M_DIV, P_DIV, 8) \
 X(divl_m, "divl CELL", M_DIV, P_DIV, 32) \
 X(idivl, "idivl %%ebx", M_DIV, P_IDIV, 32) X(idivw, "idivw %%bx", M_DIV, P_IDIV, 16) X(idivb, "idivb %%bl", M_DIV, P_IDIV, 8) \
 X(idivw_m, "idivw CELL", M_DIV, P_IDIV, 16) \
 /* shifts and rotates: by CL (counts 0..33 and random), by 1, by immediates, memory */ \
 SH(shl, M_SHL) SH(shr, M_SHR) SH(sar, M_SAR) SH(rol, M_ROT) SH(ror, M_ROT) SH(rcl, M_RC) SH(rcr, M_RC) \
 X(shldl, "shldl %%cl,%%edx,%%eax", M_SHD, P_CNT, 32) X(shldw, "shldw %%cl,%%dx,%%ax", M_SHD, P_CNT, 16) \
 X(shrdl, "shrdl %%cl,%%edx,%%eax", M_SHD, P_CNT, 32) X(shrdw, "shrdw %%cl,%%dx,%%ax", M_SHD, P_CNT, 16) \
 X(shldl_i, "shldl $7,%%edx,%%eax", M_SHD, P_CNT, 32) X(shrdl_i, "shrdl $1,%%edx,%%eax", M_SHD, P_CNT, 32) \
 X(shldw_i, "shldw $9,%%dx,%%ax", M_SHD, P_CNT, 16) X(shrdw_m, "shrdw %%cl,%%dx,CELL", M_SHD, P_CNT, 16) \
 X(shldl_m, "shldl %%cl,%%edx,CELL", M_SHD, P_CNT, 32) \
 /* bit tests and scans */ \
 X(btl, "btl %%edx,%%eax", M_BT, P_NONE, 32) X(btsl, "btsl %%edx,%%eax", M_BT, P_NONE, 32) \
 X(btrl, "btrl %%edx,%%eax", M_BT, P_NONE, 32) X(btcl, "btcl %%edx,%%eax", M_BT, P_NONE, 32) \
 X(btw, "btw %%dx,%%ax", M_BT, P_NONE, 16) X(btsw, "btsw %%dx,%%ax", M_BT, P_NONE, 16) \
 X(btl_i, "btl $13,%%eax", M_BT, P_NONE, 32) X(btcl_i, "btcl $31,%%eax", M_BT, P_NONE, 32) \
 X(btrw_i, "btrw $21,%%ax", M_BT, P_NONE, 16) \
 X(btl_m, "andl $63,%%edx\n\tbtl %%edx,CELL", M_BT, P_NONE, 32) X(btsl_m, "andl $127,%%edx\n\tbtsl %%edx,CELL", M_BT, P_NONE, 32) \
 X(btcw_m, "andl $63,%%edx\n\tbtcw %%dx,CELL", M_BT, P_NONE, 16) X(btrl_mi, "btrl $37,CELL", M_BT, P_NONE, 32) \
 X(bsfl, "bsfl %%edx,%%eax", M_BS, P_NONE, 32) X(bsrl, "bsrl %%edx,%%eax", M_BS, P_NONE, 32) \
 X(bsfw, "bsfw %%dx,%%ax", M_BS, P_NONE, 16) X(bsrw, "bsrw %%dx,%%ax", M_BS, P_NONE, 16) \
 X(bsfl_m, "bsfl CELL,%%eax", M_BS, P_NONE, 32) \
 /* exchange-and-add / compare-exchange */ \
 X(xaddl, "xaddl %%edx,%%eax", M_ALL, P_NONE, 32) X(xaddw, "xaddw %%dx,%%ax", M_ALL, P_NONE, 16) \
 X(xaddb, "xaddb %%dl,%%al", M_ALL, P_NONE, 8) X(xaddl_m, "lock xaddl %%edx,CELL", M_ALL, P_NONE, 32) \
 X(xaddb_m, "xaddb %%dh,CELL", M_ALL, P_NONE, 8) \
 X(cmpxchgl, "cmpxchgl %%edx,%%ebx", M_ALL, P_CX, 32) X(cmpxchgw, "cmpxchgw %%dx,%%bx", M_ALL, P_CX, 16) \
 X(cmpxchgb, "cmpxchgb %%dl,%%bl", M_ALL, P_CX, 8) X(cmpxchgl_m, "lock cmpxchgl %%edx,CELL", M_ALL, P_CX, 32) \
 X(cmpxchgb_m, "cmpxchgb %%dl,CELL", M_ALL, P_CX, 8) \
 X(cmpxchg8b, "lock cmpxchg8b CELL", M_ALL, P_CX8, 32) \
 X(xchgl, "xchgl %%edx,%%eax", M_ALL, P_NONE, 32) X(xchgb_m, "xchgb %%dh,CELL", M_ALL, P_NONE, 8) \
 /* BCD */ \
 X(daa, "daa", M_DAA, P_NONE, 8) X(das, "das", M_DAA, P_NONE, 8) X(aaa, "aaa", M_AAA, P_NONE, 8) \
 X(aas, "aas", M_AAA, P_NONE, 8) X(aam, "aam", M_AAM, P_NONE, 8) X(aam7, "aam $7", M_AAM, P_NONE, 8) \
 X(aad, "aad", M_AAM, P_NONE, 8) X(aad3, "aad $3", M_AAM, P_NONE, 8) \
 X(addb_daa, "addb %%dl,%%al\n\tdaa", M_DAA, P_NONE, 8) X(subb_das, "subb %%dl,%%al\n\tdas", M_DAA, P_NONE, 8) \
 X(addb_aaa, "addb %%dl,%%al\n\taaa", M_AAA, P_NONE, 8) X(subb_aas, "subb %%dl,%%al\n\taas", M_AAA, P_NONE, 8) \
 /* conditions consumed by Jcc/CMOVcc from popf'd and from lazily computed flags */ \
 CC(o) CC(no) CC(b) CC(ae) CC(e) CC(ne) CC(be) CC(a) CC(s) CC(ns) CC(p) CC(np) CC(l) CC(ge) CC(le) CC(g) \
 /* flag register instructions */ \
 X(lahf, "lahf", M_ALL, P_NONE, 32) X(sahf, "sahf", M_ALL, P_SAHF, 32) \
 X(popf, "pushl %%edx\n\tpopfl", M_POPF, P_POPF, 32) X(popfw, "pushw %%dx\n\tpopfw", M_POPF, P_POPF, 16) \
 X(pushf, "pushfl\n\tpopl %%ebx", M_ALL, P_NONE, 32) X(pushfw, "pushfw\n\tpopw %%bx", M_ALL, P_NONE, 16) \
 X(cmc, "cmc", M_ALL, P_NONE, 32) X(clc, "clc", M_ALL, P_NONE, 32) X(stc, "stc", M_ALL, P_NONE, 32) \
 X(salc, ".byte 0xd6", M_ALL, P_NONE, 8) \
 /* moves */ \
 X(bswap, "bswapl %%eax\n\tbswapl %%esi", M_ALL, P_NONE, 32) \
 X(movsbl, "movsbl %%dl,%%eax", M_ALL, P_NONE, 32) X(movsbw, "movsbw %%dh,%%ax", M_ALL, P_NONE, 16) \
 X(movswl, "movswl %%dx,%%eax", M_ALL, P_NONE, 32) X(movzbl, "movzbl %%dh,%%eax", M_ALL, P_NONE, 32) \
 X(movzbw, "movzbw %%dl,%%ax", M_ALL, P_NONE, 16) X(movzwl, "movzwl %%dx,%%eax", M_ALL, P_NONE, 32) \
 X(movsbl_m, "movsbl CELL+1,%%eax", M_ALL, P_NONE, 32) X(movzwl_m, "movzwl CELL+2,%%eax", M_ALL, P_NONE, 32) \
 X(cbw, "cbw", M_ALL, P_NONE, 16) X(cwde, "cwde", M_ALL, P_NONE, 32) X(cwd, "cwd", M_ALL, P_NONE, 16) X(cdq, "cdq", M_ALL, P_NONE, 32) \
 X(lea16, "leaw 7(%%ebx,%%esi,4),%%ax", M_ALL, P_NONE, 16) X(lea32, "leal -9(%%ebx,%%esi,8),%%eax", M_ALL, P_NONE, 32) \
 X(xlat, "xlatb", M_ALL, P_XLAT, 8) \
 X(pusha, "pushal\n\taddl $1,(%%esp)\n\taddl $2,4(%%esp)\n\taddl $3,12(%%esp)\n\taddl $4,16(%%esp)\n\t" \
          "addl $5,20(%%esp)\n\taddl $6,24(%%esp)\n\taddl $7,28(%%esp)\n\tpopal", M_ALL, P_NONE, 32) \
 X(pushaw, "pushaw\n\taddw $1,(%%esp)\n\taddw $2,2(%%esp)\n\taddw $3,6(%%esp)\n\taddw $4,8(%%esp)\n\t" \
          "addw $5,10(%%esp)\n\taddw $6,12(%%esp)\n\taddw $7,14(%%esp)\n\tpopaw", M_ALL, P_NONE, 16) \
 /* ENTER/LEAVE: report ESP/EBP relative to the entry ESP, and the frame slots */ \
 X(enter0, "pushl %%ebp\n\tmovl %%esp,%%esi\n\tmovl %%esp,%%ebp\n\tenter $24,$0\n\tmovl %%esp,%%eax\n\tsubl %%esi,%%eax\n\t" \
           "movl %%ebp,%%ebx\n\tsubl %%esi,%%ebx\n\tleave\n\tmovl %%esp,%%edx\n\tsubl %%esi,%%edx\n\tpopl %%ebp\n\txorl %%esi,%%esi", M_NONE, P_NONE, 32) \
 X(enter3, "pushl %%ebp\n\tmovl %%esp,%%esi\n\tpushl $0x1111\n\tpushl $0x2222\n\tleal 8(%%esp),%%ebp\n\tenter $8,$3\n\t" \
           "movl %%esp,%%eax\n\tsubl %%esi,%%eax\n\tmovl -4(%%ebp),%%ebx\n\tmovl -8(%%ebp),%%ecx\n\tmovl -12(%%ebp),%%edx\n\t" \
           "subl %%esi,%%edx\n\tmovl (%%ebp),%%edi\n\tsubl %%esi,%%edi\n\tleave\n\tmovl %%esp,%%esi\n\tsubl %%ebp,%%esi\n\t" \
           "movl %%ebp,%%esp\n\tpopl %%ebp", M_NONE, P_NONE, 32) \
 /* string instructions, DF 0 and 1, with and without REP/REPE/REPNE */ \
 STR(movs, "movs") STR(stos, "stos") STR(lods, "lods") STR(cmps, "cmps") STR(scas, "scas") \
 X(rep_movsb, "rep movsb", M_ALL, P_STR, 8) X(rep_movsw, "rep movsw", M_ALL, P_STR, 16) X(rep_movsl, "rep movsl", M_ALL, P_STR, 32) \
 X(rep_stosb, "rep stosb", M_ALL, P_STR, 8) X(rep_stosw, "rep stosw", M_ALL, P_STR, 16) X(rep_stosl, "rep stosl", M_ALL, P_STR, 32) \
 X(rep_lodsb, "rep lodsb", M_ALL, P_STR, 8) X(rep_lodsl, "rep lodsl", M_ALL, P_STR, 32) \
 X(repe_cmpsb, "repe cmpsb", M_ALL, P_STR, 8) X(repne_cmpsb, "repne cmpsb", M_ALL, P_STR, 8) \
 X(repe_cmpsl, "repe cmpsl", M_ALL, P_STR, 32) X(repne_cmpsw, "repne cmpsw", M_ALL, P_STR, 16) \
 X(repe_scasb, "repe scasb", M_ALL, P_STR, 8) X(repne_scasb, "repne scasb", M_ALL, P_STR, 8) \
 X(repe_scasw, "repe scasw", M_ALL, P_STR, 16) X(repne_scasl, "repne scasl", M_ALL, P_STR, 32) \
 /* overlapping copies within one buffer (memmove shortcuts must not change element-wise semantics) */ \
 X(ovl_movsb, "rep movsb", M_ALL, P_STRO, 8) X(ovl_movsw, "rep movsw", M_ALL, P_STRO, 16) X(ovl_movsl, "rep movsl", M_ALL, P_STRO, 32) \
 X(ovl_stosl, "rep stosl", M_ALL, P_STRO, 32) \
 /* more memory-operand forms */ \
 X(setcc_m, "setg CELL+1\n\tsetnp CELL+2", M_ALL, P_NONE, 8) X(pushpop_m, "pushl CELL\n\tpopl CELL+4\n\tpushw CELL+2\n\tpopw CELL", M_ALL, P_NONE, 32) \
 X(rcll_m, "rcll %%cl,CELL", M_RC, P_CNT, 32) X(rcrb_m, "rcrb %%cl,CELL+1", M_RC, P_CNT, 8) X(rclw_m1, "rclw CELL", M_RC, P_NONE, 16) \
 X(sarb_m, "sarb %%cl,CELL+3", M_SAR, P_CNT, 8) X(shrw_m, "shrw %%cl,CELL", M_SHR, P_CNT, 16) \
 X(xchgl_m, "xchgl %%eax,CELL+1", M_ALL, P_NONE, 32) X(adcl_m_cf, "adcl %%edx,CELL\n\tadcl %%ebx,CELL+4", M_ALL, P_NONE, 32) \
 X(sbbw_m_cf, "sbbw %%dx,CELL+1\n\tsbbb $3,CELL+3", M_ALL, P_NONE, 16) \
 /* loops */ \
 X(loop, "1: incl %%eax\n\tloop 1b", M_ALL, P_LOOP, 32) \
 X(loope, "1: incl %%eax\n\tcmpl %%eax,%%edx\n\tloope 1b", M_ALL, P_LOOP, 32) \
 X(loopne, "1: incl %%eax\n\tcmpl %%eax,%%edx\n\tloopne 1b", M_ALL, P_LOOP, 32) \
 X(jecxz, "jecxz 1f\n\tincl %%ebx\n\t1: jcxz 2f\n\tincl %%edx\n\t2:", M_ALL, P_LOOP, 32)

#define ALU(op, m) \
 X(op##l_rr, #op "l %%edx,%%eax", m, P_NONE, 32) X(op##w_rr, #op "w %%dx,%%ax", m, P_NONE, 16) \
 X(op##b_rr, #op "b %%dl,%%al", m, P_NONE, 8) X(op##b_hh, #op "b %%dh,%%ah", m, P_NONE, 8) \
 X(op##b_lh, #op "b %%bh,%%cl", m, P_NONE, 8) \
 X(op##l_ri, #op "l $0x12345678,%%eax", m, P_NONE, 32) X(op##l_ri8, #op "l $-2,%%ebx", m, P_NONE, 32) \
 X(op##w_ri, #op "w $0x8001,%%ax", m, P_NONE, 16) X(op##w_ri8, #op "w $127,%%dx", m, P_NONE, 16) \
 X(op##b_ri, #op "b $0x80,%%al", m, P_NONE, 8) X(op##b_ri2, #op "b $0x7f,%%ch", m, P_NONE, 8) \
 X(op##l_mr, #op "l %%edx,CELL", m, P_NONE, 32) X(op##w_mr, #op "w %%dx,CELL+2", m, P_NONE, 16) \
 X(op##b_mr, #op "b %%dh,CELL+1", m, P_NONE, 8) X(op##l_rm, #op "l CELL,%%eax", m, P_NONE, 32) \
 X(op##b_rm, #op "b CELL+3,%%al", m, P_NONE, 8) X(op##l_mi, #op "l $-1,CELL", m, P_NONE, 32) \
 X(op##w_mi8, #op "w $-128,CELL", m, P_NONE, 16)
#define UN(op, m) \
 X(op##l, #op "l %%eax", m, P_NONE, 32) X(op##w, #op "w %%dx", m, P_NONE, 16) X(op##b, #op "b %%al", m, P_NONE, 8) \
 X(op##b_h, #op "b %%bh", m, P_NONE, 8) X(op##l_m, #op "l CELL", m, P_NONE, 32) X(op##w_m, #op "w CELL+1", m, P_NONE, 16) \
 X(op##b_m, #op "b CELL+3", m, P_NONE, 8)
#define SH(op, m) \
 X(op##l_cl, #op "l %%cl,%%eax", m, P_CNT, 32) X(op##w_cl, #op "w %%cl,%%dx", m, P_CNT, 16) \
 X(op##b_cl, #op "b %%cl,%%al", m, P_CNT, 8) X(op##b_clh, #op "b %%cl,%%dh", m, P_CNT, 8) \
 X(op##l_1, #op "l %%eax", m, P_NONE, 32) X(op##w_1, #op "w %%ax", m, P_NONE, 16) X(op##b_1, #op "b %%al", m, P_NONE, 8) \
 X(op##l_i, #op "l $5,%%eax", m, P_NONE, 32) X(op##l_i31, #op "l $31,%%edx", m, P_NONE, 32) \
 X(op##w_i, #op "w $9,%%ax", m, P_NONE, 16) X(op##w_i17, #op "w $17,%%ax", m, P_NONE, 16) \
 X(op##b_i, #op "b $3,%%al", m, P_NONE, 8) X(op##b_i9, #op "b $9,%%al", m, P_NONE, 8) X(op##b_i8, #op "b $8,%%al", m, P_NONE, 8) \
 X(op##l_mcl, #op "l %%cl,CELL", m, P_CNT, 32) X(op##b_m1, #op "b CELL+2", m, P_NONE, 8) X(op##w_mi, #op "w $4,CELL", m, P_NONE, 16)
#define CC(c) \
 X(set##c, "set" #c " %%bl", M_ALL, P_NONE, 32) \
 X(cmov##c, "cmov" #c "l %%edx,%%eax", M_ALL, P_NONE, 32) X(cmov##c##w_m, "cmov" #c "w CELL,%%ax", M_ALL, P_NONE, 16) \
 X(j##c, "j" #c " 1f\n\tincl %%ebx\n\t1:", M_ALL, P_NONE, 32) \
 X(j##c##_cmp, "cmpl %%edx,%%eax\n\tj" #c " 1f\n\tincl %%ebx\n\t1:", M_ALL, P_NONE, 32) \
 X(j##c##_subb, "subb %%dl,%%al\n\tj" #c " 1f\n\tincl %%ebx\n\t1:", M_ALL, P_NONE, 8) \
 X(set##c##_decw, "decw %%dx\n\tset" #c " %%bl", M_ALL, P_NONE, 16) \
 X(set##c##_andb, "andb %%dl,%%al\n\tset" #c " %%bl", M_LOGIC, P_NONE, 8) \
 X(set##c##_adc, "adcw %%dx,%%ax\n\tset" #c " %%bl", M_ALL, P_NONE, 16) \
 X(set##c##_sbb, "sbbl %%edx,%%eax\n\tset" #c " %%bl", M_ALL, P_NONE, 32)
#define STR(op, mn) \
 X(op##b, mn "b", M_ALL, P_STR, 8) X(op##w, mn "w", M_ALL, P_STR, 16) X(op##l, mn "l", M_ALL, P_STR, 32)

#define X(n, insn, m, p, bits) BODY(f_##n, insn)
TESTS
#undef X
#define X(n, insn, m, p, bits) { #n, f_##n, m, p, bits, insn },
static const test_t tests[] = { TESTS };
#undef X

/* ------------------------------------------------------------------ undefined-flag masks (SDM vol. 2) */
/* The shift count: CL, an immediate ("$n,"), or the implicit 1 of the D0/D1 forms. */
static uint32_t count_of(const test_t *t, uint32_t cl)
{
    if (strstr(t->insn, "%%cl")) return cl;
    const char *p = strchr(t->insn, '$');
    if (p) { uint32_t v = 0; for (p++; *p >= '0' && *p <= '9'; p++) v = v * 10 + (uint32_t)(*p - '0'); return v; }
    return 1;
}

static uint32_t mask_for(const test_t *t, uint32_t cl)
{
    uint32_t cnt = count_of(t, cl) & 31;
    switch (t->mask)
    {
    case M_ALL: return ARITH;
    case M_NONE: return 0;
    case M_LOGIC: return ARITH & ~AF;                /* AND/OR/XOR/TEST: AF undefined */
    case M_MUL: return CF | OF;                      /* MUL/IMUL: SF ZF AF PF undefined */
    case M_DIV: return 0;                            /* DIV/IDIV: all six undefined */
    case M_ZF: return ZF;
    case M_SHL: case M_SHR: case M_SAR:
        /* SAL/SAR/SHL/SHR: count 0 affects nothing; AF undefined; OF only for count 1; CF undefined for
         * SHL/SHR when count >= operand width */
        if (cnt == 0) return ARITH;
        { uint32_t m = ARITH & ~AF; if (cnt != 1) m &= ~OF; if (t->mask != M_SAR && cnt >= (uint32_t)t->bits) m &= ~CF; return m; }
    case M_ROT: case M_RC:
        /* ROL/ROR/RCL/RCR: OF defined only for a masked count of 1; count 0 affects nothing */
        if (cnt <= 1) return ARITH;
        return ARITH & ~OF;
    case M_SHD:
        /* SHLD/SHRD: AF undefined; OF only for count 1; count > 16 on 16-bit operands: result and flags
         * undefined (the case is skipped by the caller) */
        if (cnt == 0) return ARITH;
        return cnt == 1 ? ARITH & ~AF : ARITH & ~AF & ~OF;
    case M_BT: return CF | ZF;                       /* BT*: OF SF AF PF undefined; ZF unaffected */
    case M_BS: return ZF;                            /* BSF/BSR: CF OF SF AF PF undefined */
    case M_DAA: return ARITH & ~OF;                  /* DAA/DAS: OF undefined */
    case M_AAA: return CF | AF;                      /* AAA/AAS: OF SF ZF PF undefined */
    case M_AAM: return SF | ZF | PF;                 /* AAM/AAD: OF AF CF undefined */
    case M_POPF: return ARITH | DF;
    }
    return ARITH;
}

/* Conditions whose flags are all defined. */
static uint32_t cond_mask(uint32_t fm)
{
    uint32_t m = 0;
    int o = !!(fm & OF), c = !!(fm & CF), z = !!(fm & ZF), s = !!(fm & SF), p = !!(fm & PF);
    if (o) m |= 3u << 0;
    if (c) m |= 3u << 2;
    if (z) m |= 3u << 4;
    if (c && z) m |= 3u << 6;
    if (s) m |= 3u << 8;
    if (p) m |= 3u << 10;
    if (s && o) m |= 3u << 12;
    if (z && s && o) m |= 3u << 14;
    return m;
}

static uint32_t bufsum(const uint8_t *b, int n) { uint32_t h = 2166136261u; for (int i = 0; i < n; i++) h = (h ^ b[i]) * 16777619u; return h; }

static int prepare(const test_t *t, int it)
{
    uint32_t w = t->bits == 8 ? 0xff : t->bits == 16 ? 0xffff : 0xffffffff;
    switch (t->prep)
    {
    case P_CNT:
        S.c = it < 34 ? (uint32_t)it : rnd() % 3 ? rnd() % 34 : rnd();
        if (t->mask == M_SHD && t->bits == 16 && (S.c & 31) > 16) S.c &= 15;
        break;
    case P_DIV:
        if ((S.b & w) == 0) S.b |= 1;
        CELL[0] = S.b;
        if (t->bits == 8) S.a = (S.a & 0xffff00ffu) | ((((S.a >> 8) & 0xff) % (S.b & 0xff)) << 8);
        if (t->bits == 16) S.d = (S.d & 0xffff0000u) | ((S.d & 0xffff) % (S.b & 0xffff));
        if (t->bits == 32) S.d = S.d % S.b;
        break;
    case P_IDIV:
    {
        if ((S.b & w) == 0) S.b |= 1;
        CELL[0] = S.b;
        int64_t n, d, q;
        for (int k = 0; k < 3; k++)
        {
            if (t->bits == 8) { n = (int16_t)S.a; d = (int8_t)S.b; }
            else if (t->bits == 16) { n = (int32_t)(((S.d & 0xffff) << 16) | (S.a & 0xffff)); d = (int16_t)S.b; }
            else { n = (int64_t)(((uint64_t)S.d << 32) | S.a); d = (int32_t)S.b; }
            if (n == INT64_MIN) { S.d = 0; continue; }
            q = n / d;
            if (t->bits == 8 ? q == (int8_t)q : t->bits == 16 ? q == (int16_t)q : q == (int32_t)q) return 1;
            /* sign-extend the low half into the high half, then shrink */
            if (t->bits == 8) S.a = (S.a & 0xffff0000u) | (uint16_t)(int16_t)(int8_t)S.a;
            else if (t->bits == 16) S.d = (S.a & 0x8000) ? 0xffff : 0;
            else S.d = (S.a & 0x80000000u) ? 0xffffffffu : 0;
            if (k == 1) S.a >>= 8;
        }
        return 0;
    }
    case P_XLAT: S.b = (uint32_t)(uintptr_t)TABLE; break;
    case P_STR:
    {
        int df = rnd() & 1;
        S.c = rnd() % 24;
        int step = t->bits / 8;
        uint32_t off = 64 + (rnd() % 32) * step;
        if (df) { FIN |= DF; off += 256; } else FIN &= ~DF;
        S.si = (uint32_t)(uintptr_t)SRCBUF + off;
        S.di = (uint32_t)(uintptr_t)DSTBUF + off + (rnd() % 4) * step;
        for (int i = 0; i < 512; i++) { SRCBUF[i] = (uint8_t)(i * 7); DSTBUF[i] = (uint8_t)(i * 7); }
        for (int k = rnd() % 4; k > 0; k--) DSTBUF[rnd() % 512] ^= 1 << (rnd() % 8);
        if (rnd() & 1) S.a = SRCBUF[rnd() % 512] * 0x01010101u;
        break;
    }
    case P_STRO:
    {
        int df = rnd() & 1, step = t->bits / 8;
        S.c = rnd() % 40;
        uint32_t off = 128 + (rnd() % 16) * step;
        if (df) FIN |= DF; else FIN &= ~DF;
        S.si = (uint32_t)(uintptr_t)SRCBUF + off;
        S.di = S.si + (int32_t)(rnd() % 13) - 6;
        for (int i = 0; i < 512; i++) { SRCBUF[i] = (uint8_t)(i * 7 + 3); DSTBUF[i] = 0; }
        break;
    }
    case P_LOOP: S.c = rnd() % 4 == 0 ? 0x10000 : rnd() % 7 + 1; if (t->name[0] == 'j') S.c = rnd() % 3 ? 0 : S.c; S.d = S.a + rnd() % 5; break;
    case P_CX: if (rnd() & 1) { S.a = S.b; CELL[0] = S.a; } else if (rnd() & 1) CELL[0] = S.a; break;
    case P_CX8: if (rnd() & 1) { CELL[0] = S.a; CELL[1] = S.d; } break;
    case P_POPF: S.d &= ARITH | DF | 0x200000u; break;   /* no TF (single-step), no AC (alignment checks) */
    case P_SAHF: break;
    }
    return 1;
}

int main(void)
{
    int nt = sizeof tests / sizeof tests[0];
    for (int i = 0; i < 256; i++) TABLE[i] = (uint8_t)(i * 13 + 5);
    int total = 0;
    for (int ti = 0; ti < nt; ti++)
    {
        const test_t *t = &tests[ti];
        int iters = t->prep == P_STR ? 150 : 200;
        for (int it = 0; it < iters; it++)
        {
            S.a = operand(); S.b = operand(); S.c = operand(); S.d = operand(); S.si = operand(); S.di = operand();
            CELL[0] = operand(); CELL[1] = operand(); CELL[2] = operand(); CELL[3] = operand();
            FIN = (rnd() & ARITH) | 0x202;
            if (!prepare(t, it)) continue;
            regs_t in = S;
            uint32_t fin = FIN, cell0 = CELL[0], cell1 = CELL[1];
            t->fn();
            uint32_t fm = mask_for(t, in.c);
            puts_(t->name); puts_(" ");
            hex(in.a); hex(in.b); hex(in.c); hex(in.d); hex(fin); hex(cell0); hex(cell1); puts_("| ");
            if (t->prep == P_STRO)
            {
                S.si -= (uint32_t)(uintptr_t)SRCBUF; S.di -= (uint32_t)(uintptr_t)SRCBUF;
                CELL[0] = bufsum(SRCBUF, 512);
            }
            if (t->prep == P_STR)
            {
                S.si -= (uint32_t)(uintptr_t)SRCBUF; S.di -= (uint32_t)(uintptr_t)DSTBUF;
                CELL[0] = bufsum(DSTBUF, 512);
            }
            hex(S.a); hex(S.b); hex(S.c); hex(S.d); hex(S.si); hex(S.di); hex(CELL[0]); hex(CELL[1]);
            hex(FOUT & (fm | (t->mask == M_POPF ? 0x200000u : 0)));
            uint32_t cm = cond_mask(fm), cv = 0;
            for (int k = 0; k < 16; k++) cv |= (uint32_t)(CONDS[k] & 1) << k;
            hex(cv & cm);
            puts_("\n");
            total++;
        }
    }
    puts_("cases ");
    hex((uint32_t)total);
    puts_("\n");
    flush();
    return 0;
}
