#include "CStacks.h"

#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

// One Dwfl per process: its modules (the ELF files mapped executable) are reported once and
// kept, with their parsed CFI; each sample only sets the registers and the stack copy the
// callbacks read. This is what makes unwinding cheap after the first sample of a process:
// a fresh Dwfl per sample (as `perf report` makes) would parse .eh_frame every time.

/// The sample being unwound.
typedef struct sample_state {
    pid_t tid;
    const uint64_t *regs;
    const uint8_t *stack;
    size_t stack_size;
    uint64_t sp;
} sample_state;

struct lookout_unwinder {
    Dwfl *dwfl;
    pid_t pid;
    bool attached;
    int reported;
    sample_state sample;
    uint64_t *pcs;
    int max, count;
};

/// No separate debug information is looked up for unwinding: .eh_frame is in the binary,
/// and opening debug files (hundreds of MB) per module would cost more than it gives.
static int no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                        const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                        char **debuginfo_file_name) {
    (void)mod; (void)userdata; (void)modname; (void)base; (void)file_name;
    (void)debuglink_file; (void)debuglink_crc; (void)debuginfo_file_name;
    return -1;
}

static const Dwfl_Callbacks callbacks = {
    .find_elf = dwfl_build_id_find_elf,
    .find_debuginfo = no_debuginfo,
    .section_address = dwfl_offline_section_address,
};

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp) {
    (void)dwfl;
    lookout_unwinder *u = arg;
    if (*thread_argp != NULL) return 0;
    *thread_argp = u;
    return u->sample.tid;
}

static bool get_thread(Dwfl *dwfl, pid_t tid, void *arg, void **thread_argp) {
    (void)dwfl;
    lookout_unwinder *u = arg;
    if (tid != u->sample.tid) return false;
    *thread_argp = u;
    return true;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg) {
    (void)dwfl;
    lookout_unwinder *u = arg;
    const sample_state *s = &u->sample;
    if (addr < s->sp || addr + sizeof(Dwarf_Word) < addr || addr + sizeof(Dwarf_Word) > s->sp + s->stack_size)
        return false;
    memcpy(result, s->stack + (addr - s->sp), sizeof(Dwarf_Word));
    return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg) {
    lookout_unwinder *u = arg;
    const uint64_t *r = u->sample.regs;
    // perf's order: AX BX CX DX SI DI BP SP IP R8..R15; DWARF's: AX DX CX BX SI DI BP SP R8..R15 RIP.
    Dwarf_Word dwarf[17] = {
        r[0], r[3], r[2], r[1], r[4], r[5], r[6], r[7],
        r[9], r[10], r[11], r[12], r[13], r[14], r[15], r[16],
        r[8],
    };
    return dwfl_thread_state_registers(thread, 0, 17, dwarf);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
    .next_thread = next_thread,
    .get_thread = get_thread,
    .memory_read = memory_read,
    .set_initial_registers = set_initial_registers,
};

lookout_unwinder *lookout_unwinder_new(pid_t pid) {
    lookout_unwinder *u = calloc(1, sizeof *u);
    if (!u) return NULL;
    u->dwfl = dwfl_begin(&callbacks);
    if (!u->dwfl) {
        free(u);
        return NULL;
    }
    u->pid = pid;
    return u;
}

void lookout_unwinder_free(lookout_unwinder *u) {
    if (!u) return;
    dwfl_end(u->dwfl);
    free(u);
}

int lookout_unwinder_report(lookout_unwinder *u, const char *name, const char *path, uint64_t bias) {
    dwfl_report_begin_add(u->dwfl);
    Dwfl_Module *m = dwfl_report_elf(u->dwfl, name, path, -1, bias, false);
    dwfl_report_end(u->dwfl, NULL, NULL);
    if (!m) return -1;
    u->reported++;
    return 0;
}

static int frame_callback(Dwfl_Frame *frame, void *arg) {
    lookout_unwinder *u = arg;
    Dwarf_Addr pc;
    bool activation;
    if (!dwfl_frame_pc(frame, &pc, &activation)) return DWARF_CB_ABORT;
    u->pcs[u->count++] = pc;
    // Stop as soon as the buffer is full: going on would unwind one more frame for nothing.
    return u->count >= u->max ? DWARF_CB_ABORT : DWARF_CB_OK;
}

int lookout_unwinder_unwind(lookout_unwinder *u, pid_t tid, const uint64_t *regs, const uint8_t *stack,
                            size_t stack_size, uint64_t *pcs, int max, int *error) {
    *error = 1;
    if (u->reported == 0 || max <= 0) return 0;
    u->sample = (sample_state){tid, regs, stack, stack_size, regs[LOOKOUT_PERF_REG_SP]};
    if (!u->attached) {
        if (!dwfl_attach_state(u->dwfl, NULL, u->pid, &thread_callbacks, u)) return 0;
        u->attached = true;
    }
    u->pcs = pcs;
    u->max = max;
    u->count = 0;
    int rc = dwfl_getthread_frames(u->dwfl, tid, frame_callback, u);
    // 0: the outermost frame was reached; -1: libdw could not go on (no CFI for a PC,
    // memory outside the stack copy); DWARF_CB_ABORT: the frame limit.
    *error = rc == 0 ? 0 : 1;
    return u->count;
}
