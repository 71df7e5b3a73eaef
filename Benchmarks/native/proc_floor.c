// The floor for lookout's sampler: a plain C loop that reads the same /proc files at the
// same rate as Sources/Sampling/ProcReader.swift, with nothing else around it.
//
// Per tick (FREQ Hz, ticks at start + k/FREQ on CLOCK_MONOTONIC, absolute sleeps):
//   /proc/stat (kept open, pread), parsing every cpu line; with --tick FILE, that file instead
//   (the root cgroup's CPU accounting, one number) and /proc/stat once a second;
//   task/TID/schedstat of every watched thread (kept open, pread), parsing the run time; with
//   --process-clock, each process' CPU clock instead (clock_gettime on clock_getcpuclockid),
//   and the threads' schedstat once a second, as lookout does where /proc is its own.
// Once a second (and at the first tick):
//   selection: with --comm, every /proc/PID/stat (open+read+close) and a regex on comm,
//   as lookout's comm selector does; with --pid, nothing for a process already tracked;
//   per process: listing task/ (opendir), stat and statm (kept open, pread), the fd count (the fd
//   directory's size where the kernel gives it, else listing it);
//   per thread: task/TID/status (open+read+close) for the name and context switches;
//   each --slow FILE (kept open, pread): PSI and the cgroup's CPU files;
//   with --self-metrics, its own stat (kept open), fd count and fd limit, as lookout's sampler
//   thread reads the agent's for its process_* series.
//
//   proc_floor [--hz 19] (--comm REGEX | --pid PID) [--tick FILE] [--process-clock] [--self-metrics] [--slow FILE]...
//              [--procfs /proc]
// Runs until SIGTERM/SIGINT, then prints `ticks=N missed=M` on stdout.
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAXP 64
#define MAXT 256
#define MAXSLOW 8

struct thread {
    int tid;
    int schedstat;  // kept-open fd, -1 until first read
    uint64_t last_run, run_total;
    uint64_t vol, nonvol;
    char name[64];
};

struct proc {
    int pid;
    uint64_t start;
    clockid_t clock;
    uint64_t last_clock, clock_total;
    int stat, statm;
    uint64_t utime, stime, threads, rss;
    int fds;
    int nthreads;
    struct thread t[MAXT];
};

static const char *procfs = "/proc";
static struct proc procs[MAXP];
static int nprocs;
static char buf[16 << 10];
static volatile sig_atomic_t stop;
static regex_t comm_re;
static int use_comm;
static int only_pid;
static int slow_fd[MAXSLOW];
static const char *slow_path[MAXSLOW];
static int nslow;
static uint64_t sink;  // keeps the parsing from being optimized away

static void on_signal(int s) {
    (void)s;
    stop = 1;
}

static ssize_t pread_all(int fd) {
    ssize_t n;
    do n = pread(fd, buf, sizeof buf - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n >= 0) buf[n] = 0;
    return n;
}

static ssize_t read_once(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = pread_all(fd);
    close(fd);
    return n;
}

static ssize_t read_kept(int *fd, const char *path) {
    if (*fd < 0) *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) return -1;
    return pread_all(*fd);
}

// /proc/stat: every "cpu" line's counters.
static void parse_stat(void) {
    char *p = buf;
    while (strncmp(p, "cpu", 3) == 0) {
        p += 3;
        while (*p && *p != ' ') p++;
        for (int i = 0; i < 10; i++) sink += strtoull(p, &p, 10);
        p = strchr(p, '\n');
        if (!p) return;
        p++;
    }
}

// /proc/PID/stat: comm, state, flags, utime, stime, num_threads, starttime.
struct pstat {
    char comm[64];
    char state;
    uint64_t flags, utime, stime, threads, start;
};

static int parse_pstat(struct pstat *s) {
    char *open_paren = strchr(buf, '(');
    char *close_paren = strrchr(buf, ')');
    if (!open_paren || !close_paren) return -1;
    size_t n = (size_t)(close_paren - open_paren - 1);
    if (n >= sizeof s->comm) n = sizeof s->comm - 1;
    memcpy(s->comm, open_paren + 1, n);
    s->comm[n] = 0;
    char *p = close_paren + 2;
    s->state = *p;
    p += 2;
    uint64_t f[20];
    for (int i = 0; i < 20; i++) f[i] = strtoull(p, &p, 10);
    // Fields after state, from 4: ppid pgrp session tty tpgid flags(9) minflt cminflt majflt cmajflt
    // utime(14) stime(15) cutime cstime priority nice num_threads(20) itrealvalue starttime(22).
    s->flags = f[5];
    s->utime = f[10];
    s->stime = f[11];
    s->threads = f[16];
    s->start = f[18];
    return 0;
}

static struct proc *find(int pid, uint64_t start) {
    for (int i = 0; i < nprocs; i++)
        if (procs[i].pid == pid && procs[i].start == start) return &procs[i];
    return NULL;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

static void refresh_threads(struct proc *p) {
    char path[512];
    snprintf(path, sizeof path, "%s/%d/task", procfs, p->pid);
    DIR *d = opendir(path);
    if (!d) return;
    int tids[MAXT], n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < MAXT)
        if (isdigit((unsigned char)e->d_name[0])) tids[n++] = atoi(e->d_name);
    closedir(d);
    qsort(tids, (size_t)n, sizeof tids[0], cmp_int);
    int same = n == p->nthreads;
    for (int i = 0; same && i < n; i++) same = tids[i] == p->t[i].tid;
    if (same) return;
    struct thread old[MAXT];
    int nold = p->nthreads;
    memcpy(old, p->t, sizeof(struct thread) * (size_t)nold);
    for (int i = 0; i < n; i++) {
        int k;
        for (k = 0; k < nold && old[k].tid != tids[i]; k++) {}
        if (k < nold) {
            p->t[i] = old[k];
            old[k].schedstat = -1;
        } else {
            memset(&p->t[i], 0, sizeof p->t[i]);
            p->t[i].tid = tids[i];
            p->t[i].schedstat = -1;
        }
    }
    for (int k = 0; k < nold; k++)
        if (old[k].schedstat >= 0) close(old[k].schedstat);
    p->nthreads = n;
}

static void add(int pid, uint64_t start, struct proc *next, int *nnext) {
    struct proc *known = find(pid, start);
    struct proc *p = &next[(*nnext)++];
    if (known) {
        *p = *known;
        known->pid = 0;
        return;
    }
    memset(p, 0, sizeof *p);
    p->pid = pid;
    p->start = start;
    p->stat = p->statm = -1;
    if (clock_getcpuclockid(pid, &p->clock) != 0) p->clock = -1;
}

static void rescan(void) {
    static struct proc next[MAXP];
    int nnext = 0;
    char path[512];
    struct pstat s;
    if (use_comm) {
        DIR *d = opendir(procfs);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (!isdigit((unsigned char)e->d_name[0])) continue;
            snprintf(path, sizeof path, "%s/%s/stat", procfs, e->d_name);
            if (read_once(path) <= 0 || parse_pstat(&s) != 0) continue;
            if (s.state == 'Z' || (s.flags & 0x00200000)) continue;  // zombies, kernel threads
            if (regexec(&comm_re, s.comm, 0, NULL, 0) == 0 && nnext < MAXP) add(atoi(e->d_name), s.start, next, &nnext);
        }
        if (d) closedir(d);
    } else {
        uint64_t start = 0;
        int tracked = 0;
        for (int i = 0; i < nprocs; i++)
            if (procs[i].pid == only_pid) {
                tracked = 1;
                start = procs[i].start;
            }
        if (!tracked) {
            snprintf(path, sizeof path, "%s/%d/stat", procfs, only_pid);
            if (read_once(path) > 0 && parse_pstat(&s) == 0 && s.state != 'Z') {
                start = s.start;
                tracked = 1;
            }
        }
        if (tracked) add(only_pid, start, next, &nnext);
    }
    for (int i = 0; i < nprocs; i++) {
        if (procs[i].pid == 0) continue;  // moved to next
        if (procs[i].stat >= 0) close(procs[i].stat);
        if (procs[i].statm >= 0) close(procs[i].statm);
        for (int k = 0; k < procs[i].nthreads; k++)
            if (procs[i].t[k].schedstat >= 0) close(procs[i].t[k].schedstat);
    }
    memcpy(procs, next, sizeof(struct proc) * (size_t)nnext);
    nprocs = nnext;
    for (int i = 0; i < nprocs; i++) refresh_threads(&procs[i]);
}

static void read_slow(struct proc *p) {
    char path[512];
    struct pstat s;
    snprintf(path, sizeof path, "%s/%d/stat", procfs, p->pid);
    if (read_kept(&p->stat, path) <= 0 || parse_pstat(&s) != 0) return;
    p->utime = s.utime;
    p->stime = s.stime;
    p->threads = s.threads;
    snprintf(path, sizeof path, "%s/%d/statm", procfs, p->pid);
    if (read_kept(&p->statm, path) > 0) {
        char *q = buf;
        strtoull(q, &q, 10);
        p->rss = strtoull(q, &q, 10);
    }
    snprintf(path, sizeof path, "%s/%d/fd", procfs, p->pid);
    // The kernel (6.2+) gives the count as the fd directory's size; 0 there: list it.
    struct stat st;
    if (lstat(path, &st) == 0 && st.st_size > 0) {
        p->fds = (int)st.st_size;
    } else {
        DIR *d = opendir(path);
        if (d) {
        int n = 0;
        struct dirent *e;
        while ((e = readdir(d)))
            if (e->d_name[0] != '.') n++;
        closedir(d);
        p->fds = n;
        }
    }
    for (int i = 0; i < p->nthreads; i++) {
        struct thread *t = &p->t[i];
        snprintf(path, sizeof path, "%s/%d/task/%d/status", procfs, p->pid, t->tid);
        if (read_once(path) <= 0) continue;
        for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
            if (strncmp(line, "Name:\t", 6) == 0) {
                char *end = strchr(line, '\n');
                size_t n = end ? (size_t)(end - line - 6) : strlen(line + 6);
                if (n >= sizeof t->name) n = sizeof t->name - 1;
                memcpy(t->name, line + 6, n);
                t->name[n] = 0;
            } else if (strncmp(line, "voluntary_ctxt_switches:", 24) == 0) {
                t->vol = strtoull(line + 24, NULL, 10);
            } else if (strncmp(line, "nonvoluntary_ctxt_switches:", 27) == 0) {
                t->nonvol = strtoull(line + 27, NULL, 10);
            }
        }
    }
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv) {
    int hz = 19;
    const char *tick_path = NULL;
    int tick_fd = -1;
    int process_clock = 0;
    int self_metrics = 0, self_stat = -1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--hz") && i + 1 < argc) hz = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--comm") && i + 1 < argc) {
            if (regcomp(&comm_re, argv[++i], REG_EXTENDED | REG_NOSUB) != 0) return 2;
            use_comm = 1;
        } else if (!strcmp(argv[i], "--pid") && i + 1 < argc) only_pid = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--slow") && i + 1 < argc && nslow < MAXSLOW) {
            slow_path[nslow] = argv[++i];
            slow_fd[nslow++] = -1;
        } else if (!strcmp(argv[i], "--tick") && i + 1 < argc) tick_path = argv[++i];
        else if (!strcmp(argv[i], "--process-clock")) process_clock = 1;
        else if (!strcmp(argv[i], "--self-metrics")) self_metrics = 1;
        else if (!strcmp(argv[i], "--procfs") && i + 1 < argc) procfs = argv[++i];
        else {
            fprintf(stderr, "usage: proc_floor [--hz N] (--comm REGEX | --pid PID) [--tick FILE] [--process-clock] [--self-metrics] [--slow FILE]... [--procfs DIR]\n");
            return 2;
        }
    }
    if (!use_comm && only_pid <= 0) return 2;
    pid_t parent = getppid();
    // SIGKILL: a spawning thread may have had SIGTERM blocked, and the mask is inherited.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (getppid() != parent) return 0;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    char path[512];
    snprintf(path, sizeof path, "%s/stat", procfs);
    int host = open(path, O_RDONLY | O_CLOEXEC);
    uint64_t period = 1000000000ull / (uint64_t)hz;
    uint64_t start = now_ns(), next_slow = start;
    uint64_t ticks = 0, missed = 0;
    while (!stop) {
        uint64_t due = start + (ticks + missed) * period;
        struct timespec ts = {.tv_sec = (time_t)(due / 1000000000ull), .tv_nsec = (long)(due % 1000000000ull)};
        if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) continue;
        uint64_t t = now_ns();
        int slow = t >= next_slow;
        if (slow) {
            while (next_slow <= t) next_slow += 1000000000ull;
            rescan();
            for (int i = 0; i < nprocs; i++) read_slow(&procs[i]);
        }
        if (tick_path) {
            if (read_kept(&tick_fd, tick_path) > 0) sink += strtoull(buf, NULL, 10);
            if (slow && pread_all(host) > 0) parse_stat();
        } else if (pread_all(host) > 0) parse_stat();
        for (int i = 0; i < nprocs; i++) {
            struct proc *p = &procs[i];
            if (process_clock && p->clock != -1) {
                struct timespec c;
                if (clock_gettime(p->clock, &c) == 0) {
                    uint64_t v = (uint64_t)c.tv_sec * 1000000000ull + (uint64_t)c.tv_nsec;
                    if (p->last_clock && v > p->last_clock) p->clock_total += v - p->last_clock;
                    p->last_clock = v;
                }
                if (!slow) continue;
            }
            for (int k = 0; k < p->nthreads; k++) {
                struct thread *th = &p->t[k];
                if (th->schedstat < 0) {
                    snprintf(path, sizeof path, "%s/%d/task/%d/schedstat", procfs, p->pid, th->tid);
                    th->schedstat = open(path, O_RDONLY | O_CLOEXEC);
                }
                if (th->schedstat < 0 || pread_all(th->schedstat) <= 0) continue;
                uint64_t run = strtoull(buf, NULL, 10);
                if (th->last_run && run > th->last_run) th->run_total += run - th->last_run;
                th->last_run = run;
            }
        }
        if (slow && self_metrics) {
            // Its own process_* figures, as lookout's sampler thread reads the agent's.
            if (read_kept(&self_stat, "/proc/self/stat") > 0) sink += (uint64_t)buf[0];
            struct stat st;
            if (lstat("/proc/self/fd", &st) == 0) sink += (uint64_t)st.st_size;
            struct rlimit rl;
            if (getrlimit(RLIMIT_NOFILE, &rl) == 0) sink += rl.rlim_cur;
        }
        if (slow)
            for (int i = 0; i < nslow; i++)
                if (read_kept(&slow_fd[i], slow_path[i]) > 0) sink += (uint64_t)buf[0];
        ticks++;
        // A tick that overran skips the ticks it missed, as lookout's schedule does.
        uint64_t end = now_ns();
        while (start + (ticks + missed) * period <= end) missed++;
    }
    for (int i = 0; i < nprocs; i++) sink += procs[i].clock_total;
    printf("ticks=%llu missed=%llu sink=%llu\n", (unsigned long long)ticks, (unsigned long long)missed,
           (unsigned long long)(sink & 1));
    return 0;
}
