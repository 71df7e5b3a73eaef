// The cost of DWARF unwinding a perf sample's copied user stack: elfutils' libdw (what
// lookout's CStacks unwinder does: one Dwfl per process, modules reported once) against
// libunwind's remote unwinding with accessors over the same copies (what perf's
// unwind-libunwind-local.c does: .eh_frame_hdr binary search, global caching).
//
//   cc -O2 -I../../Sources/CStacks/include -o unwind_cost unwind_cost.c
//      ../../Sources/CStacks/perf.c ../../Sources/CStacks/unwind.c -ldw -lelf -lunwind-x86_64 -lunwind
//   ./unwind_cost PROGRAM [ARGS...]
//
// Starts PROGRAM, copies 2,000 samples (registers and 8 KiB of stack) at ~1 kHz, stops it,
// then unwinds every sample with both libraries, 5 rounds each, and prints microseconds of
// CPU per sample and frames per sample (the first round apart: it loads the CFI). Both must
// find the same number of frames.
#define _GNU_SOURCE
#include "CStacks.h"

#include <elfutils/libdw.h>
#include <fcntl.h>
#include <gelf.h>
#include <libunwind.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SAMPLES 2000
#define STACK_BYTES 8192
#define MAX_FRAMES 128

typedef struct {
    pid_t tid;
    uint64_t regs[17];
    uint8_t stack[STACK_BYTES];
    size_t size;
} sample_t;

typedef struct {
    uint64_t start, end, offset, bias;
    const uint8_t *image;
    size_t image_size;
    uint64_t eh_frame_hdr;  // runtime address, 0 if none
    char path[512];
} mapping_t;

static sample_t *samples;
static int nsamples;
static mapping_t maps[256];
static int nmaps;
static const sample_t *current;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);  // CPU time: the machine may be busy
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void load_maps(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", pid);
    FILE *f = fopen(path, "r");
    char line[1024];
    elf_version(EV_CURRENT);
    while (f && fgets(line, sizeof line, f) && nmaps < 256) {
        unsigned long start, end, off;
        char perms[8], file[512] = "";
        if (sscanf(line, "%lx-%lx %7s %lx %*s %*s %511s", &start, &end, perms, &off, file) < 4) continue;
        if (perms[2] != 'x' || file[0] != '/') continue;
        mapping_t *m = &maps[nmaps];
        m->start = start;
        m->end = end;
        m->offset = off;
        snprintf(m->path, sizeof m->path, "%s", file);
        int fd = open(file, O_RDONLY);
        if (fd < 0) continue;
        struct stat st;
        fstat(fd, &st);
        m->image_size = st.st_size;
        m->image = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        size_t phnum = 0, shstrndx = 0;
        elf_getphdrnum(elf, &phnum);
        for (size_t i = 0; i < phnum; i++) {
            GElf_Phdr ph;
            gelf_getphdr(elf, (int)i, &ph);
            if (ph.p_type == PT_LOAD && off >= ph.p_offset && off < ph.p_offset + ph.p_filesz)
                m->bias = start - (off - ph.p_offset + ph.p_vaddr);
        }
        elf_getshdrstrndx(elf, &shstrndx);
        Elf_Scn *scn = NULL;
        while ((scn = elf_nextscn(elf, scn))) {
            GElf_Shdr sh;
            gelf_getshdr(scn, &sh);
            const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
            if (name && strcmp(name, ".eh_frame_hdr") == 0) m->eh_frame_hdr = m->bias + sh.sh_addr;
        }
        elf_end(elf);
        close(fd);
        nmaps++;
    }
    if (f) fclose(f);
}

static mapping_t *mapping_of(uint64_t addr) {
    // Any mapping of the file holding addr (file pages are read through the image).
    for (int i = 0; i < nmaps; i++)
        if (addr >= maps[i].start && addr < maps[i].end) return &maps[i];
    for (int i = 0; i < nmaps; i++) {
        // .eh_frame_hdr and .eh_frame usually sit in the read-only segment after the code.
        uint64_t off = addr - maps[i].bias;
        if (addr >= maps[i].bias && off < maps[i].image_size) return &maps[i];
    }
    return NULL;
}

// MARK: collecting samples

static void collect(pid_t pid) {
    lookout_perf_config c = {.period_ns = 1000000, .stack_bytes = STACK_BYTES, .exclude_kernel = 1};
    int fd = lookout_perf_open(&c, pid, -1);
    if (fd < 0) {
        fprintf(stderr, "perf_event_open: %s\n", strerror(-fd));
        exit(1);
    }
    int err;
    size_t pages = 256;
    uint8_t *base = lookout_perf_mmap(fd, pages, &err);
    lookout_perf_enable(fd);
    uint64_t tail = 0, size = pages * lookout_perf_page_size(), off = lookout_perf_data_offset(base);
    static uint8_t rec[65536];
    while (nsamples < SAMPLES) {
        usleep(20000);
        uint64_t head = lookout_perf_data_head(base);
        while (tail < head && nsamples < SAMPLES) {
            for (int i = 0; i < 8; i++) rec[i] = base[off + (tail + i) % size];
            uint16_t hsize;
            uint32_t type;
            memcpy(&type, rec, 4);
            memcpy(&hsize, rec + 6, 2);
            for (int i = 0; i < hsize; i++) rec[i] = base[off + (tail + i) % size];
            tail += hsize;
            if (type != LOOKOUT_PERF_RECORD_SAMPLE) continue;
            uint8_t *q = rec + 8;
            sample_t *s = &samples[nsamples];
            uint32_t p, t;
            memcpy(&p, q, 4);
            memcpy(&t, q + 4, 4);
            q += 16;
            uint64_t nr;
            memcpy(&nr, q, 8);
            q += 8 + nr * 8;
            uint64_t abi;
            memcpy(&abi, q, 8);
            q += 8;
            if (!abi) continue;
            memcpy(s->regs, q, sizeof s->regs);
            q += sizeof s->regs;
            uint64_t ssize, dyn;
            memcpy(&ssize, q, 8);
            q += 8;
            memcpy(&dyn, q + ssize, 8);
            memcpy(s->stack, q, dyn);
            s->size = dyn;
            s->tid = t;
            nsamples++;
        }
        lookout_perf_set_data_tail(base, tail);
    }
    lookout_perf_disable(fd);
}

// MARK: libunwind accessors

extern int _Ux86_64_dwarf_search_unwind_table(unw_addr_space_t, unw_word_t, unw_dyn_info_t *, unw_proc_info_t *, int,
                                              void *);

static int read_word(uint64_t addr, unw_word_t *out) {
    uint64_t sp = current->regs[LOOKOUT_PERF_REG_SP];
    if (addr >= sp && addr + 8 <= sp + current->size) {
        memcpy(out, current->stack + (addr - sp), 8);
        return 0;
    }
    mapping_t *m = mapping_of(addr);
    if (!m) return -UNW_EINVAL;
    uint64_t file_off = addr - m->bias;  // vaddr; equals the file offset for these layouts
    if (file_off + 8 > m->image_size) return -UNW_EINVAL;
    memcpy(out, m->image + file_off, 8);
    return 0;
}

static int find_proc_info(unw_addr_space_t as, unw_word_t ip, unw_proc_info_t *pi, int need, void *arg) {
    mapping_t *m = mapping_of(ip);
    if (!m || !m->eh_frame_hdr) return -UNW_ENOINFO;
    const uint8_t *hdr = m->image + (m->eh_frame_hdr - m->bias);
    uint32_t count;
    memcpy(&count, hdr + 8, 4);  // fde_count, udata4 as GNU ld writes it
    unw_dyn_info_t di;
    memset(&di, 0, sizeof di);
    di.format = UNW_INFO_FORMAT_REMOTE_TABLE;
    di.start_ip = m->start;
    di.end_ip = m->end;
    di.u.rti.segbase = m->eh_frame_hdr;
    di.u.rti.table_data = m->eh_frame_hdr + 12;
    di.u.rti.table_len = count * 8 / sizeof(unw_word_t);
    return _Ux86_64_dwarf_search_unwind_table(as, ip, &di, pi, need, arg);
}

static void put_unwind_info(unw_addr_space_t as, unw_proc_info_t *pi, void *arg) {
    (void)as; (void)arg;
    free(pi->unwind_info);
    pi->unwind_info = NULL;
}
static int get_dyn_info_list_addr(unw_addr_space_t as, unw_word_t *a, void *arg) {
    (void)as; (void)a; (void)arg;
    return -UNW_ENOINFO;
}
static int access_mem(unw_addr_space_t as, unw_word_t addr, unw_word_t *v, int write, void *arg) {
    (void)as; (void)arg;
    if (write) return -UNW_EREADONLYREG;
    return read_word(addr, v);
}
static int access_reg(unw_addr_space_t as, unw_regnum_t reg, unw_word_t *v, int write, void *arg) {
    (void)as; (void)arg;
    if (write) return -UNW_EREADONLYREG;
    const uint64_t *r = current->regs;
    // perf order AX BX CX DX SI DI BP SP IP R8..R15; libunwind's is DWARF's.
    static const int from_perf[17] = {0, 3, 2, 1, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 8};
    if (reg < 0 || reg > 16) return -UNW_EBADREG;
    *v = r[from_perf[reg]];
    return 0;
}
static int access_fpreg(unw_addr_space_t as, unw_regnum_t r, unw_fpreg_t *v, int w, void *arg) {
    (void)as; (void)r; (void)v; (void)w; (void)arg;
    return -UNW_EINVAL;
}
static int resume(unw_addr_space_t as, unw_cursor_t *c, void *arg) {
    (void)as; (void)c; (void)arg;
    return -UNW_EINVAL;
}
static int get_proc_name(unw_addr_space_t as, unw_word_t a, char *b, size_t l, unw_word_t *o, void *arg) {
    (void)as; (void)a; (void)b; (void)l; (void)o; (void)arg;
    return -UNW_EINVAL;
}
static unw_accessors_t accessors = {find_proc_info, put_unwind_info, get_dyn_info_list_addr, access_mem,
                                    access_reg,     access_fpreg,    resume,                 get_proc_name};

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: unwind_cost PROGRAM [ARGS...]\n");
        return 2;
    }
    samples = calloc(SAMPLES, sizeof *samples);
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[1], argv + 1);
        _exit(127);
    }
    usleep(300000);
    load_maps(pid);
    collect(pid);

    // libdw.
    lookout_unwinder *u = lookout_unwinder_new(pid);
    for (int i = 0; i < nmaps; i++) lookout_unwinder_report(u, maps[i].path, maps[i].path, maps[i].bias);
    uint64_t pcs[MAX_FRAMES];
    double dw_first = 0, dw_rest = 0;
    long dw_frames = 0;
    for (int round = 0; round < 5; round++) {
        double t0 = now();
        for (int i = 0; i < nsamples; i++) {
            int error;
            int n = lookout_unwinder_unwind(u, samples[i].tid, samples[i].regs, samples[i].stack, samples[i].size, pcs,
                                            MAX_FRAMES, &error);
            if (round == 0) dw_frames += n;
        }
        double t = now() - t0;
        if (round == 0) dw_first = t; else dw_rest += t;
    }

    // libunwind.
    unw_addr_space_t as = unw_create_addr_space(&accessors, 0);
    unw_set_caching_policy(as, UNW_CACHE_GLOBAL);
    double un_first = 0, un_rest = 0;
    long un_frames = 0;
    for (int round = 0; round < 5; round++) {
        double t0 = now();
        for (int i = 0; i < nsamples; i++) {
            current = &samples[i];
            unw_cursor_t cursor;
            if (unw_init_remote(&cursor, as, NULL) < 0) continue;
            int n = 0;
            do {
                unw_word_t ip;
                unw_get_reg(&cursor, UNW_REG_IP, &ip);
                n++;
            } while (n < MAX_FRAMES && unw_step(&cursor) > 0);
            if (round == 0) un_frames += n;
        }
        double t = now() - t0;
        if (round == 0) un_first = t; else un_rest += t;
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    printf("{\"samples\":%d,"
           "\"libdw\":{\"first_us\":%.2f,\"us\":%.2f,\"frames\":%.2f},"
           "\"libunwind\":{\"first_us\":%.2f,\"us\":%.2f,\"frames\":%.2f}}\n",
           nsamples, dw_first / nsamples * 1e6, dw_rest / 4 / nsamples * 1e6, (double)dw_frames / nsamples,
           un_first / nsamples * 1e6, un_rest / 4 / nsamples * 1e6, (double)un_frames / nsamples);
    return 0;
}
