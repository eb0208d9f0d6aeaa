/* CRC-32 (IEEE 802.3, reflected, table-driven, one byte per step) over a generated 1 MiB buffer, SCALE x 200 passes. */
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
static uint32_t table[256];
static uint32_t crc32(uint32_t crc, const uint8_t *p, size_t n) {
    crc = ~crc;
    while (n--) crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}
int main(int argc, char **argv) {
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    int reps = (int)(scale * 200); if (reps < 1) reps = 1;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    size_t n = 1 << 20;
    uint8_t *buf = malloc(n);
    for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)(i * 2654435761u >> 24);
    printf("crc32(123456789) %08x\n", crc32(0, (const uint8_t *)"123456789", 9));   /* cbf43926 */
    uint32_t c = 0;
    for (int r = 0; r < reps; r++) { c = crc32(c, buf, n); buf[r % n] ^= (uint8_t)c; }
    printf("crc32 %d x 1MiB %08x\n", reps, c);
    return 0;
}
