// A busy service stand-in for the stack-sampling benchmark: 8 threads, each looping over
// its own code and libc's (memcpy, qsort with a callback, snprintf), built like most
// Debian binaries (-O2, no frame pointers), so unwinding needs DWARF in places.
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

volatile uint64_t sink;

__attribute__((noinline)) static void parse_request(uint64_t n) {
    uint64_t x = n;
    for (uint64_t i = 0; i < n; i++) x = x * 6364136223846793005ull + 1442695040888963407ull;
    sink += x;
}

__attribute__((noinline)) static void copy_buffers(char *a, char *b, size_t n, int rounds) {
    for (int i = 0; i < rounds; i++) {
        memcpy(a, b, n);
        memcpy(b, a, n);
    }
    sink += (uint64_t)a[n / 2];
}

static int by_value(const void *x, const void *y) {
    uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;
    return a < b ? -1 : a > b;
}

__attribute__((noinline)) static void sort_batch(uint64_t *v, size_t n, uint64_t seed) {
    for (size_t i = 0; i < n; i++) v[i] = (seed = seed * 6364136223846793005ull + 1);
    qsort(v, n, sizeof *v, by_value);
    sink += v[n / 2];
}

__attribute__((noinline)) static void format_log(char *out, size_t cap, int lines) {
    for (int i = 0; i < lines; i++) snprintf(out, cap, "request %d took %.3f ms from %s", i, i * 0.25, "10.0.0.1");
    sink += (uint64_t)out[3];
}

__attribute__((noinline)) static void handle(char *a, char *b, uint64_t *v, char *line) {
    parse_request(2000000);
    copy_buffers(a, b, 1 << 20, 40);
    sort_batch(v, 20000, sink);
    format_log(line, 256, 20000);
}

static void *worker(void *arg) {
    (void)arg;
    char *a = malloc(1 << 20), *b = calloc(1, 1 << 20);
    uint64_t *v = malloc(20000 * sizeof *v);
    char line[256];
    for (;;) handle(a, b, v, line);
    return NULL;
}

int main(void) {
    pthread_t t[7];
    for (int i = 0; i < 7; i++) pthread_create(&t[i], NULL, worker, NULL);
    worker(NULL);
}
