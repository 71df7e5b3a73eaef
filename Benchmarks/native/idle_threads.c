// An idle process with N threads (the main one included), all asleep: what the sampler
// benchmarks watch. It exits when its parent does (PR_SET_PDEATHSIG), so a benchmark
// that dies leaves nothing behind.
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

static void *sleeper(void *arg) {
    (void)arg;
    for (;;) pause();
    return NULL;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 10;
    pid_t parent = getppid();
    // SIGKILL: a spawning thread may have had SIGTERM blocked, and the mask is inherited.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (getppid() != parent) return 0;
    for (int i = 1; i < n; i++) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setstacksize(&a, 64 << 10);
        pthread_create(&t, &a, sleeper, NULL);
    }
    for (;;) pause();
}
