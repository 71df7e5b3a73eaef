// A minimal keep-alive HTTP/1.1 server on 127.0.0.1: every request gets `200 ok`.
// One thread, epoll. The fast local endpoint for the probe benchmarks: it answers in
// microseconds, so what a probe costs is the prober's own work.
//   http_ok PORT      (PORT 0: an ephemeral port; the port is printed on stdout)
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXFD 65536
static char pending[MAXFD][4];  // the last bytes seen of each connection (a request may end across reads)

static const char response[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n";

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 0;
    pid_t parent = getppid();
    // SIGKILL: a spawning thread may have had SIGTERM blocked, and the mask is inherited.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (getppid() != parent) return 0;
    signal(SIGPIPE, SIG_IGN);
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 4096) != 0) {
        perror("http_ok: bind/listen");
        return 1;
    }
    socklen_t len = sizeof a;
    getsockname(ls, (struct sockaddr *)&a, &len);
    printf("%d\n", ntohs(a.sin_port));
    fflush(stdout);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
    epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
    struct epoll_event events[256];
    char buf[16384];
    for (;;) {
        int n = epoll_wait(ep, events, 256, -1);
        if (n < 0 && errno == EINTR) continue;
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == ls) {
                int c;
                while ((c = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    if (c >= MAXFD) {
                        close(c);
                        continue;
                    }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    memset(pending[c], 0, 4);
                    struct epoll_event cev = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                }
                continue;
            }
            ssize_t r = read(fd, buf, sizeof buf);
            if (r <= 0) {
                if (r < 0 && errno == EAGAIN) continue;
                close(fd);
                continue;
            }
            // Count request ends ("\r\n\r\n"), including one split across reads.
            int answers = 0;
            char *p = pending[fd];
            for (ssize_t k = 0; k < r; k++) {
                p[0] = p[1];
                p[1] = p[2];
                p[2] = p[3];
                p[3] = buf[k];
                if (memcmp(p, "\r\n\r\n", 4) == 0) answers++;
            }
            for (int k = 0; k < answers; k++) {
                if (write(fd, response, sizeof response - 1) < 0) break;
            }
        }
    }
}
