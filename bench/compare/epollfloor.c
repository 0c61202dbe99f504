/* epollfloor.c - the floor of a request/reply round trip through an event-loop broker.
 *
 * The same four wake-ups as ../shared/bench/wakefloor.c (requester -> broker -> replier
 * -> broker -> requester, three processes, eventfds, no data), but each side waits the
 * way a process serving many descriptors must:
 *   block   a blocking read (wakefloor itself: 2 system calls a hop)
 *   epoll   epoll_wait on the descriptor, then a read (3 a hop)
 *   asio    a read first (EAGAIN when nothing came), then epoll_wait and the read: what
 *           Asio's reactor does for every async read (4 a hop)
 * Each figure is the lowest a broker that waits that way can reach with no work of its
 * own. Pin it to one CPU (taskset -c 0), as wakefloor.
 *
 * Usage: epollfloor [-n count] [-m block|epoll|asio]      Output: one JSON line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum mode { block, epoll, asio };
static enum mode mode = block;

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A process's waiting side: its eventfd and, unless blocking, an epoll set holding it. */
struct waiter { int fd, ep; };

static struct waiter waiter_for(int fd)
{
    struct waiter w = {fd, -1};
    if (mode == block) return w;
    w.ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.fd = fd};
    if (w.ep < 0 || epoll_ctl(w.ep, EPOLL_CTL_ADD, fd, &ev) != 0) _exit(1);
    return w;
}

static void hop_wait(struct waiter w)
{
    uint64_t v;
    if (mode == block) {
        if (read(w.fd, &v, 8) != 8) _exit(1);
        return;
    }
    /* A wake-up this read takes leaves its edge in the epoll set: the next wait returns
     * at once and reads EAGAIN, as in Asio's reactor. */
    if (mode == asio) {
        if (read(w.fd, &v, 8) == 8) return;
        if (errno != EAGAIN) _exit(1);
    }
    for (;;) {
        struct epoll_event ev;
        int n = epoll_wait(w.ep, &ev, 1, -1);
        if (n < 0 && errno != EINTR) _exit(1);
        if (n != 1) continue;
        if (read(w.fd, &v, 8) == 8) return;
        if (errno != EAGAIN) _exit(1);
    }
}

static void hop_wake(int fd) { uint64_t v = 1; if (write(fd, &v, 8) != 8) _exit(1); }

int main(int argc, char **argv)
{
    int n = 20000, warmup = 100, opt;
    while ((opt = getopt(argc, argv, "n:m:")) != -1) {
        if (opt == 'n') n = atoi(optarg);
        if (opt == 'm') {
            if (!strcmp(optarg, "block")) mode = block;
            else if (!strcmp(optarg, "epoll")) mode = epoll;
            else if (!strcmp(optarg, "asio")) mode = asio;
            else { fprintf(stderr, "epollfloor: -m block, epoll or asio\n"); return 2; }
        }
    }
    if (n < 1 || n > 10000000) return 2;
    int flags = mode == block ? 0 : EFD_NONBLOCK;
    int to_broker = eventfd(0, flags), to_replier = eventfd(0, flags),
        to_requester = eventfd(0, flags);

    if (fork() == 0) { /* broker: requests go to the replier, replies to the requester */
        struct waiter w = waiter_for(to_broker);
        for (int k = 0; k < 2 * (n + warmup); k++) {
            hop_wait(w);
            hop_wake(k % 2 == 0 ? to_replier : to_requester);
        }
        _exit(0);
    }
    if (fork() == 0) { /* replier */
        struct waiter w = waiter_for(to_replier);
        for (int k = 0; k < n + warmup; k++) {
            hop_wait(w);
            hop_wake(to_broker);
        }
        _exit(0);
    }
    struct waiter w = waiter_for(to_requester);
    double *lat = malloc(sizeof(double) * n);
    for (int k = 0; k < n + warmup; k++) {
        double t = now_us();
        hop_wake(to_broker);
        hop_wait(w);
        if (k >= warmup) lat[k - warmup] = now_us() - t;
    }
    qsort(lat, n, sizeof(double), cmp);
    static const char *names[] = {"block", "epoll", "asio"};
    printf("{\"system\":\"epollfloor\",\"mode\":\"%s\",\"workload\":\"roundtrip\",\"count\":%d,"
           "\"p50_us\":%.3f,\"p99_us\":%.3f}\n", names[mode], n, lat[n / 2], lat[n * 99 / 100]);
    while (wait(NULL) > 0) {}
    return 0;
}
