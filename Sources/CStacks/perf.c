#include "CStacks.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

// AX BX CX DX SI DI BP SP IP (bits 0-8) and R8..R15 (bits 16-23).
#define USER_REGS_MASK ((1ULL << 9) - 1) | (0xffULL << 16)

int lookout_perf_open(const lookout_perf_config *config, pid_t pid, int cpu) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_CPU_CLOCK;
    attr.sample_period = config->period_ns;
    attr.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_CALLCHAIN;
    if (config->stack_bytes > 0) {
        attr.sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
        attr.sample_regs_user = USER_REGS_MASK;
        attr.sample_stack_user = config->stack_bytes;
    }
    attr.disabled = 1;
    attr.inherit = config->inherit ? 1 : 0;
    attr.exclude_kernel = config->exclude_kernel ? 1 : 0;
    attr.exclude_callchain_kernel = config->exclude_kernel ? 1 : 0;
    attr.exclude_hv = 1;
    attr.exclude_idle = 1;
    if (config->task_records) {
        attr.comm = 1;
        attr.task = 1;
    }
    long fd = syscall(SYS_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    return fd < 0 ? -errno : (int)fd;
}

int lookout_perf_open_dummy(pid_t pid, int cpu) {
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.size = sizeof attr;
    attr.type = PERF_TYPE_SOFTWARE;
    attr.config = PERF_COUNT_SW_DUMMY;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    long fd = syscall(SYS_perf_event_open, &attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);
    return fd < 0 ? -errno : (int)fd;
}

int lookout_perf_set_output(int fd, int target) {
    return ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, target) < 0 ? -errno : 0;
}

int lookout_perf_enable(int fd) { return ioctl(fd, PERF_EVENT_IOC_ENABLE, 0) < 0 ? -errno : 0; }
int lookout_perf_disable(int fd) { return ioctl(fd, PERF_EVENT_IOC_DISABLE, 0) < 0 ? -errno : 0; }

void *lookout_perf_mmap(int fd, size_t data_pages, int *error) {
    size_t bytes = (data_pages + 1) * lookout_perf_page_size();
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        *error = errno;
        return NULL;
    }
    *error = 0;
    return p;
}

void lookout_perf_munmap(void *base, size_t data_pages) {
    if (base) munmap(base, (data_pages + 1) * lookout_perf_page_size());
}

uint64_t lookout_perf_data_head(const void *base) {
    const struct perf_event_mmap_page *pc = base;
    return __atomic_load_n(&pc->data_head, __ATOMIC_ACQUIRE);
}

void lookout_perf_set_data_tail(void *base, uint64_t tail) {
    struct perf_event_mmap_page *pc = base;
    __atomic_store_n(&pc->data_tail, tail, __ATOMIC_RELEASE);
}

uint64_t lookout_perf_data_offset(const void *base) {
    const struct perf_event_mmap_page *pc = base;
    return pc->data_offset ? pc->data_offset : lookout_perf_page_size();
}

size_t lookout_perf_page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

int lookout_perf_online_cpus(void) { return (int)sysconf(_SC_NPROCESSORS_ONLN); }
