// The process Benchmarks/capabilities points lookout at: run by root, so lookout, run as
// another user, reads it as a sidecar reads the service beside it. One thread burns CPU in
// a user function (a frame to symbolize), one in the kernel (reads of /dev/zero: kernel
// frames), the rest sleep (so the stack profiler opens a ring buffer for each).
// Built with frame pointers; it exits when its parent does.
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

static char buffer[1 << 20];

__attribute__((noinline)) static unsigned long capsvc_spin(unsigned long n) {
    unsigned long x = n;
    for (unsigned long i = 0; i < 2000000; i++) x = x * 6364136223846793005UL + 1442695040888963407UL;
    return x;
}

static void *spinner(void *arg) {
    (void)arg;
    volatile unsigned long sink = 0;
    for (;;) sink += capsvc_spin(sink);
    return NULL;
}

static void *reader(void *arg) {
    (void)arg;
    int fd = open("/dev/zero", O_RDONLY);
    for (;;) {
        if (read(fd, buffer, sizeof buffer) < 0) usleep(1000);
    }
    return NULL;
}

static void *sleeper(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

int main(int argc, char **argv) {
    int idle = argc > 1 ? atoi(argv[1]) : 100;
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) return 0;
    pthread_t t;
    pthread_create(&t, NULL, spinner, NULL);
    pthread_create(&t, NULL, reader, NULL);
    for (int i = 0; i < idle; i++) {
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setstacksize(&a, 64 << 10);
        pthread_create(&t, &a, sleeper, NULL);
    }
    for (;;) pause();
}
