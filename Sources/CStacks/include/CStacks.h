#ifndef LOOKOUT_CSTACKS_H
#define LOOKOUT_CSTACKS_H
// Typed wrappers for stack profiling: perf_event_open(2) and its ring buffer (variadic
// syscall/ioctl, macros and atomics Swift cannot use directly), ELF reading with libelf,
// DWARF line tables and CFI unwinding with elfutils' libdw, and C++/Swift demangling.
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

// MARK: perf_event_open

/// What one perf event samples. Every event is a software cpu-clock event with
/// TID|TIME|CALLCHAIN samples; `stack_bytes` > 0 adds REGS_USER|STACK_USER (the user
/// registers and a copy of the top `stack_bytes` of the user stack, for DWARF unwinding).
typedef struct lookout_perf_config {
    /// Nanoseconds of CPU time between samples (1e9 / frequency).
    uint64_t period_ns;
    /// Bytes of user stack copied per sample (a multiple of 8), 0 for none.
    uint32_t stack_bytes;
    /// 1: user space only (what an unprivileged user may sample with perf_event_paranoid 2).
    int exclude_kernel;
    /// 1: threads created later by a sampled thread are sampled too (per-task events).
    int inherit;
    /// 1: also deliver COMM, FORK and EXIT records (thread names and lifetimes).
    int task_records;
} lookout_perf_config;

/// perf_event_open(2) of a cpu-clock event for `pid` (-1: every task) on `cpu` (-1: any),
/// created disabled and close-on-exec. Returns the fd, or -errno.
int lookout_perf_open(const lookout_perf_config *config, pid_t pid, int cpu);
/// A software dummy event (no samples) of `pid` on `cpu`: a ring buffer for other events
/// of that CPU to write into. Returns the fd, or -errno.
int lookout_perf_open_dummy(pid_t pid, int cpu);
/// PERF_EVENT_IOC_SET_OUTPUT: `fd` writes its records into `target`'s ring buffer. 0 or -errno.
int lookout_perf_set_output(int fd, int target);
/// PERF_EVENT_IOC_ENABLE / DISABLE. 0 or -errno.
int lookout_perf_enable(int fd);
int lookout_perf_disable(int fd);
/// Maps the ring buffer of `fd`: one header page plus `data_pages` (a power of two) pages.
/// Returns the mapping, or NULL with *error set to errno.
void *lookout_perf_mmap(int fd, size_t data_pages, int *error);
void lookout_perf_munmap(void *base, size_t data_pages);
/// The ring buffer's data_head, loaded with acquire ordering (records before it are complete).
uint64_t lookout_perf_data_head(const void *base);
/// Stores data_tail with release ordering (the kernel may overwrite what was read).
void lookout_perf_set_data_tail(void *base, uint64_t tail);
/// The offset of the data area from the mapping's start (data_offset, or one page).
uint64_t lookout_perf_data_offset(const void *base);
/// The size of a page, for the ring buffer.
size_t lookout_perf_page_size(void);
/// Number of CPUs online (when /sys/devices/system/cpu/online cannot be read).
int lookout_perf_online_cpus(void);

/// Record types and sample layout the Swift side decodes.
enum {
    LOOKOUT_PERF_RECORD_LOST = 2,
    LOOKOUT_PERF_RECORD_COMM = 3,
    LOOKOUT_PERF_RECORD_EXIT = 4,
    LOOKOUT_PERF_RECORD_FORK = 7,
    LOOKOUT_PERF_RECORD_SAMPLE = 9,
    LOOKOUT_PERF_RECORD_LOST_SAMPLES = 13,
};
/// The user registers a sample carries with REGS_USER, in the kernel's order (ascending
/// bit number): AX BX CX DX SI DI BP SP IP R8..R15.
#define LOOKOUT_PERF_USER_REGISTERS 17
/// Index of SP and IP among those registers.
#define LOOKOUT_PERF_REG_SP 7
#define LOOKOUT_PERF_REG_IP 8
#define LOOKOUT_PERF_REG_BP 6
/// Callchain entries at or above this value are context markers (PERF_CONTEXT_*).
static const uint64_t LOOKOUT_PERF_CONTEXT_MAX = (uint64_t)-4095;
static const uint64_t LOOKOUT_PERF_CONTEXT_KERNEL = (uint64_t)-128;
static const uint64_t LOOKOUT_PERF_CONTEXT_USER = (uint64_t)-512;

// MARK: ELF (libelf)

typedef struct lookout_elf lookout_elf;

/// A loadable segment (PT_LOAD).
typedef struct lookout_elf_segment {
    uint64_t offset, vaddr, filesz, memsz;
    uint32_t flags;  // PF_X = 1, PF_W = 2, PF_R = 4
} lookout_elf_segment;

/// One function symbol: its address, size and name (pointing into the file's mapping,
/// valid while the lookout_elf is open).
typedef struct lookout_elf_symbol {
    uint64_t value;
    uint64_t size;
    const char *name;
    uint8_t binding;  // STB_LOCAL 0, STB_GLOBAL 1, STB_WEAK 2
} lookout_elf_symbol;

/// Opens the ELF file at `fd` (read-only, mapped); the caller keeps and closes `fd` after
/// lookout_elf_close. NULL if it is not ELF.
lookout_elf *lookout_elf_open(int fd);
void lookout_elf_close(lookout_elf *e);
/// ET_EXEC (2), ET_DYN (3), ...
int lookout_elf_type(const lookout_elf *e);
/// Copies the GNU build-id note into `out`; returns its length, 0 when there is none.
size_t lookout_elf_build_id(lookout_elf *e, uint8_t *out, size_t cap);
/// Copies the .gnu_debuglink file name (NUL-terminated) into `out` and sets *crc; returns
/// the name's length, 0 when there is no debuglink.
size_t lookout_elf_debuglink(lookout_elf *e, char *out, size_t cap, uint32_t *crc);
/// Writes up to `cap` PT_LOAD segments; returns how many there are.
int lookout_elf_segments(lookout_elf *e, lookout_elf_segment *out, int cap);
/// Whether the file has a section of this name with contents (not SHT_NOBITS).
int lookout_elf_has_section(lookout_elf *e, const char *name);
/// Function symbols of .symtab (`dynamic` 0) or .dynsym (`dynamic` 1): writes up to `cap`,
/// returns how many there are (call with cap 0 to count).
long lookout_elf_symbols(lookout_elf *e, int dynamic, lookout_elf_symbol *out, long cap);
/// Reads up to `n` bytes of the file at vaddr `addr` from its loaded segments; returns the count read.
size_t lookout_elf_read(lookout_elf *e, uint64_t addr, uint8_t *out, size_t n);

/// Returns freed heap memory to the system (malloc_trim) after a large transient load.
void lookout_trim_heap(void);

// MARK: DWARF line tables (libdw)

typedef struct lookout_lines lookout_lines;
/// Reads the line tables of the ELF file at `fd` (the caller closes it) into a compact
/// table; NULL without line tables.
lookout_lines *lookout_lines_open(int fd);
void lookout_lines_close(lookout_lines *l);
/// The source file and line of `addr` (a vaddr of the file). Returns 1 when found; *file
/// points into the table (valid until close).
int lookout_lines_find(lookout_lines *l, uint64_t addr, const char **file, int *line);
/// Bytes the table holds.
size_t lookout_lines_bytes(const lookout_lines *l);

// MARK: DWARF CFI unwinding (libdw's dwfl)

typedef struct lookout_unwinder lookout_unwinder;
/// An unwinder for one process: modules are reported with lookout_unwinder_report.
lookout_unwinder *lookout_unwinder_new(pid_t pid);
void lookout_unwinder_free(lookout_unwinder *u);
/// Reports the ELF file at `path` loaded with bias `bias` (runtime address - vaddr).
/// Returns 0, or -1 when libdw cannot use it.
int lookout_unwinder_report(lookout_unwinder *u, const char *name, const char *path, uint64_t bias);
/// Unwinds a sample: `regs` are the LOOKOUT_PERF_USER_REGISTERS user registers in the
/// kernel's order, `stack` the copy of the user stack from SP. Writes the frames' PCs,
/// innermost first (the first is IP; the others are return addresses), up to `max`.
/// Returns the count; *error is 0 when unwinding ended normally (outermost frame),
/// 1 when it stopped early (no CFI, memory outside the copy, a bad frame).
int lookout_unwinder_unwind(lookout_unwinder *u, pid_t tid, const uint64_t *regs, const uint8_t *stack,
                            size_t stack_size, uint64_t *pcs, int max, int *error);

// MARK: demangling

/// C++ (Itanium ABI, and Rust's legacy symbols) by libstdc++'s __cxa_demangle. Returns a
/// malloc'd string to free with lookout_free, or NULL.
char *lookout_demangle_cxx(const char *name);
/// Swift by the runtime's swift_demangle (looked up in the process). NULL if not a Swift
/// symbol or no runtime is linked.
char *lookout_demangle_swift(const char *name, size_t length);
void lookout_free(void *p);

#endif
