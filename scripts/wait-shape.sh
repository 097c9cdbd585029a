#!/usr/bin/env bash
# The floor under any one-thread scheduler: what waiting costs in one epoll (or io_uring)
# thread against one blocking thread per source, with no scheduler at all. A C server waits
# for the classroom scenario's three sources — a frame on a pty every 25 ms, an HTTP-sized
# request on a keep-alive loopback TCP connection every 33 ms (answered), a 25 ms tick — in
# one of three shapes, doing the same user-space work per frame and per request in all:
#   threads: a thread blocked in read() per fd and one in clock_nanosleep() for the tick
#            (the shape of esbench's threads model);
#   epoll:   one thread in epoll_wait(-1), the fds edge-triggered and non-blocking, the tick
#            a timerfd re-armed per tick (the shape of coop's loop, without coop);
#   io_uring: one thread, one io_uring_enter per wake-up that submits the next reads, the
#            answer's write (no completion on success) and the next tick's absolute timeout,
#            and waits for a completion (raw syscalls: liburing's headers are not needed).
# A forked feeder writes the frames and makes the requests. Each window's CPU is the server
# process's (getrusage, all its threads), per handled event (frame or request); wake-ups are
# its context switches. PAIRS groups (one WINDOW-s window per shape, the order rotating from
# group to group) at each WORK level (WORK snprintf calls of five integers per event; 0 =
# waiting only). Writes docs/coop.md's block "wait-shape". About 13 minutes with the
# defaults.
#
#   scripts/wait-shape.sh
#   PAIRS=4 WINDOW=5 WORKS="0 15" scripts/wait-shape.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${PAIRS:-10}
WINDOW=${WINDOW:-10}
WORKS=${WORKS:-0 15}
command -v cc >/dev/null || { echo "a C compiler (cc) is needed" >&2; exit 2; }
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
cat >"$OUT/shape.c" <<'C'
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <linux/io_uring.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#define PERIOD 25000000LL
static long long now_ns(void) {
  struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec;
}
static void sleep_until(long long at) {
  struct timespec ts = {at / 1000000000LL, at % 1000000000LL};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
}
static int WORK;
static volatile unsigned sink;
/* The same user-space work per frame and per request in both shapes. */
static void work(unsigned seed) {
  char buf[256];
  for (int i = 0; i < WORK; i++) {
    int n = snprintf(buf, sizeof buf, "%u,%d,%d,%d,%d\n", seed, i, -i * 7, i * 31, (int)seed ^ i);
    sink += (unsigned)n + (unsigned char)buf[3];
  }
}
static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
  "0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789";
static int serial_fd, conn_fd;
static atomic_long frames, polls, ticks;
static long long tick0;
static void frame(const char *buf) { work((unsigned char)buf[0]); atomic_fetch_add(&frames, 1); }
static int request(const char *buf) {
  work((unsigned char)buf[0]); atomic_fetch_add(&polls, 1);
  return write(conn_fd, RESP, sizeof RESP - 1) < 0 ? -1 : 0;
}
static void *serial_thread(void *a) {
  char buf[4096]; (void)a;
  for (;;) { if (read(serial_fd, buf, sizeof buf) <= 0) return NULL; frame(buf); }
}
static void *conn_thread(void *a) {
  char buf[4096]; (void)a;
  for (;;) { if (read(conn_fd, buf, sizeof buf) <= 0 || request(buf)) return NULL; }
}
static void *tick_thread(void *a) {
  long long next = tick0; (void)a;
  for (;;) { next += PERIOD; sleep_until(next); atomic_fetch_add(&ticks, 1); }
  return NULL;  /* not reached: the process exits with the window */
}
static void arm(int tfd, long long at) {
  struct itimerspec its = {{0, 0}, {at / 1000000000LL, at % 1000000000LL}};
  timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
}
static void *epoll_thread(void *a) {
  char buf[4096]; struct epoll_event evs[8]; (void)a;
  int ep = epoll_create1(EPOLL_CLOEXEC), tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  fcntl(serial_fd, F_SETFL, O_NONBLOCK); fcntl(conn_fd, F_SETFL, O_NONBLOCK);
  struct epoll_event ev = {EPOLLIN | EPOLLET, {.u64 = 1}};
  epoll_ctl(ep, EPOLL_CTL_ADD, serial_fd, &ev);
  ev.data.u64 = 2; epoll_ctl(ep, EPOLL_CTL_ADD, conn_fd, &ev);
  ev.data.u64 = 3; epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
  long long next = tick0 + PERIOD; arm(tfd, next);
  for (;;) {
    int n = epoll_wait(ep, evs, 8, -1);
    for (int i = 0; i < n; i++) {
      if (evs[i].data.u64 == 1) { if (read(serial_fd, buf, sizeof buf) > 0) frame(buf); }
      else if (evs[i].data.u64 == 2) { if (read(conn_fd, buf, sizeof buf) > 0 && request(buf)) return NULL; }
      else { atomic_fetch_add(&ticks, 1); next += PERIOD; arm(tfd, next); }
    }
  }
}

/* io_uring: one thread, one io_uring_enter per wake-up (it submits the next reads, the
   answer's write and the next tick's timeout, and waits for a completion). */
#ifndef IOSQE_CQE_SKIP_SUCCESS
#define IOSQE_CQE_SKIP_SUCCESS (1U << 6)
#endif
static int ring;
static unsigned *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask, pending;
static struct io_uring_sqe *sqes;
static struct io_uring_cqe *cqes;
static int uring_setup(void) {
  struct io_uring_params p; memset(&p, 0, sizeof p);
  ring = (int)syscall(__NR_io_uring_setup, 16, &p);
  if (ring < 0) return -1;
  size_t sq_sz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq_sz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  if (p.features & IORING_FEAT_SINGLE_MMAP) { if (cq_sz > sq_sz) sq_sz = cq_sz; cq_sz = sq_sz; }
  char *sq = mmap(0, sq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQ_RING);
  char *cq = (p.features & IORING_FEAT_SINGLE_MMAP) ? sq
           : mmap(0, cq_sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_CQ_RING);
  sqes = mmap(0, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) return -1;
  sq_tail = (unsigned *)(sq + p.sq_off.tail); sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  sq_array = (unsigned *)(sq + p.sq_off.array);
  cq_head = (unsigned *)(cq + p.cq_off.head); cq_tail = (unsigned *)(cq + p.cq_off.tail);
  cq_mask = (unsigned *)(cq + p.cq_off.ring_mask); cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
  return 0;
}
static void push(unsigned char op, int fd, const void *addr, unsigned len, unsigned long long data, unsigned char flags) {
  unsigned tail = *sq_tail, idx = tail & *sq_mask;
  struct io_uring_sqe *s = &sqes[idx]; memset(s, 0, sizeof *s);
  s->opcode = op; s->fd = fd; s->addr = (unsigned long long)(uintptr_t)addr; s->len = len;
  s->off = op == IORING_OP_TIMEOUT ? 0 : (unsigned long long)-1; s->user_data = data; s->flags = flags;
  if (op == IORING_OP_TIMEOUT) s->timeout_flags = IORING_TIMEOUT_ABS;
  sq_array[idx] = idx;
  __atomic_store_n(sq_tail, tail + 1, __ATOMIC_RELEASE);
  pending++;
}
static struct __kernel_timespec tick_at;
static void push_tick(long long at) {
  tick_at.tv_sec = at / 1000000000LL; tick_at.tv_nsec = at % 1000000000LL;  /* copied at submit */
  push(IORING_OP_TIMEOUT, -1, &tick_at, 1, 3, 0);
}
static void *uring_thread(void *a) {
  static char sbuf[4096], cbuf[4096]; (void)a;
  if (uring_setup()) { perror("io_uring_setup"); exit(1); }
  long long next = tick0 + PERIOD;
  push(IORING_OP_READ, serial_fd, sbuf, sizeof sbuf, 1, 0);
  push(IORING_OP_READ, conn_fd, cbuf, sizeof cbuf, 2, 0);
  push_tick(next);
  for (;;) {
    int r = (int)syscall(__NR_io_uring_enter, ring, pending, 1, IORING_ENTER_GETEVENTS, NULL, 0);
    if (r < 0) { if (errno == EINTR) continue; perror("io_uring_enter"); exit(1); }
    pending -= (unsigned)r;
    unsigned h = *cq_head, t = __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE);
    for (; h != t; h++) {
      struct io_uring_cqe *c = &cqes[h & *cq_mask];
      if (c->user_data == 1) {
        if (c->res <= 0) return NULL;
        frame(sbuf); push(IORING_OP_READ, serial_fd, sbuf, sizeof sbuf, 1, 0);
      } else if (c->user_data == 2) {
        if (c->res <= 0) return NULL;
        work((unsigned char)cbuf[0]); atomic_fetch_add(&polls, 1);
        push(IORING_OP_WRITE, conn_fd, RESP, sizeof RESP - 1, 4, IOSQE_CQE_SKIP_SUCCESS);
        push(IORING_OP_READ, conn_fd, cbuf, sizeof cbuf, 2, 0);
      } else if (c->user_data == 3) {
        atomic_fetch_add(&ticks, 1); next += PERIOD; push_tick(next);
      } else return NULL;  /* a failed write */
    }
    __atomic_store_n(cq_head, h, __ATOMIC_RELEASE);
  }
}
static void feeder(int master, int port, double secs) {
  int c = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  while (connect(c, (struct sockaddr *)&sa, sizeof sa) < 0) usleep(1000);
  setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  const char fr[] = "A0000 00500 00500 00500 00000 00000 00000 00000 1023 1\r\n";
  const char rq[] = "GET /poll HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n";
  long long t0 = now_ns(), nf = t0 + 3000000, np = t0, end = t0 + (long long)(secs * 1e9);
  char buf[4096];
  while (now_ns() < end) {
    long long nx = nf < np ? nf : np; sleep_until(nx);
    if (nx == nf) { if (write(master, fr, sizeof fr - 1) < 0) break; nf += 25000000LL; }
    else { if (write(c, rq, sizeof rq - 1) < 0 || read(c, buf, sizeof buf) <= 0) break; np += 33003300LL; }
  }
  _exit(0);
}
int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: shape threads|epoll|io_uring SECONDS WORK\n"); return 2; }
  int epoll_mode = strcmp(argv[1], "epoll") == 0, uring_mode = strcmp(argv[1], "io_uring") == 0, one = 1; double secs = atof(argv[2]); WORK = atoi(argv[3]);
  int master = posix_openpt(O_RDWR | O_NOCTTY); grantpt(master); unlockpt(master);
  serial_fd = open(ptsname(master), O_RDWR | O_NOCTTY);
  struct termios tio; tcgetattr(serial_fd, &tio); cfmakeraw(&tio); tcsetattr(serial_fd, TCSANOW, &tio);
  int l = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof sa;
  if (bind(l, (struct sockaddr *)&sa, sizeof sa) || listen(l, 4) || getsockname(l, (struct sockaddr *)&sa, &sl)) return 1;
  pid_t f = fork();
  if (f == 0) { close(serial_fd); feeder(master, ntohs(sa.sin_port), secs + 2.0); }
  conn_fd = accept(l, NULL, NULL); setsockopt(conn_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  tick0 = now_ns();
  pthread_t t[3];
  if (epoll_mode) pthread_create(&t[0], NULL, epoll_thread, NULL);
  else if (uring_mode) pthread_create(&t[0], NULL, uring_thread, NULL);
  else { pthread_create(&t[0], NULL, serial_thread, NULL); pthread_create(&t[1], NULL, conn_thread, NULL);
         pthread_create(&t[2], NULL, tick_thread, NULL); }
  sleep_until(tick0 + 1000000000LL);  /* one second to settle, then the window */
  struct rusage r0, r1; getrusage(RUSAGE_SELF, &r0);
  long f0 = frames, p0 = polls, k0 = ticks;
  sleep_until(tick0 + 1000000000LL + (long long)(secs * 1e9));
  getrusage(RUSAGE_SELF, &r1);
  long df = frames - f0, dp = polls - p0, dk = ticks - k0;
  double cpu = (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) * 1e6 + (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec)
             + (r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1e6 + (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec);
  long cs = (r1.ru_nvcsw - r0.ru_nvcsw) + (r1.ru_nivcsw - r0.ru_nivcsw);
  printf("%s %ld %ld %ld %.0f %ld\n", argv[1], df, dp, dk, cpu, cs);
  fflush(stdout);
  kill(f, SIGKILL); waitpid(f, NULL, 0);
  _exit(0);
}
C
cc -O2 -Wall -pthread -o "$OUT/shape" "$OUT/shape.c"
# io_uring may be unavailable (an old kernel, kernel.io_uring_disabled, a seccomp filter):
# then the table is made without it and says why, rather than failing after minutes.
skipped=""
if ! "$OUT/shape" io_uring 0.2 0 >/dev/null 2>"$OUT/probe.err"; then
  skipped="io_uring: $(head -n1 "$OUT/probe.err")"
  echo "wait-shape: the io_uring shape cannot run here ($skipped); measuring the other two" >&2
fi
for work in $WORKS; do
  for i in $(seq 1 "$PAIRS"); do
    # the order rotates from group to group, so no shape always runs first
    case $(( i % 3 )) in
      1) order="threads epoll io_uring" ;; 2) order="epoll io_uring threads" ;; *) order="io_uring threads epoll" ;;
    esac
    for shape in $order; do
      [[ $shape == io_uring && -n $skipped ]] && continue
      line=$("$OUT/shape" "$shape" "$WINDOW" "$work") ||
        { echo "wait-shape: the $shape shape failed (work $work, group $i)" >&2; exit 1; }
      echo "$work $i $line" >>"$OUT/runs.txt"
    done
  done
done
python3 - "$OUT/runs.txt" "$PAIRS" "$WINDOW" "$(uptime)" "$skipped" <<'PY' | scripts/splice-generated.py docs/coop.md wait-shape
import collections, math, statistics, sys
runs, pairs, window, load, skipped = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
by = collections.defaultdict(dict)   # (work, pair) -> shape -> figures
for line in open(runs):
    work, pair, shape, frames, polls, ticks, cpu, cs = line.split()
    ev = int(frames) + int(polls)
    # A shape that fell behind its sources (lost frames, requests or ticks) did less work
    # and would look cheaper: it is not compared, and the run stops saying so.
    want_ev, want_ticks = float(window) * (40 + 1000 / 33.0033), float(window) * 40
    if ev < 0.95 * want_ev or int(ticks) < 0.95 * want_ticks:
        sys.exit(f"wait-shape: the {shape} shape fell behind in group {pair}, work {work}: "
                 f"{ev} events and {ticks} ticks in {window} s (expected about "
                 f"{want_ev:.0f} and {want_ticks:.0f})")
    by[(int(work), int(pair))][shape] = dict(us=float(cpu) / ev, wk=int(cs) / ev, ev=ev, ticks=int(ticks))
def median_interval(xs):
    """The median and its distribution-free interval (order statistics k and n-k+1, k the
    largest whose coverage is still at least 95 %), with that coverage."""
    xs, n = sorted(xs), len(xs)
    cov = lambda k: 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2 ** n
    k = max([k for k in range(1, n // 2 + 1) if cov(k) >= 0.95] or [1])
    return statistics.median(xs), xs[k - 1], xs[n - k], cov(k)
SHAPES = ("threads", "epoll") if skipped else ("threads", "epoll", "io_uring")
print(f"Measured by `scripts/wait-shape.sh` (`uptime` at the end: {load.strip()}): {pairs} "
      f"rotating groups of {window} s windows per work level, one window per shape; per "
      f"handled event (frame or request), median (range) over the groups. *÷ threads* is the "
      f"median of the groups' ratios to the threads shape's window, with its distribution-free "
      f"interval (order statistics; its coverage in the column).\n")
print("| work per event | shape | events per window | wake-ups per event | CPU µs per event | ÷ threads [interval] | coverage | dearer than threads in |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for work in sorted({w for w, _ in by}):
    ps = [by[k] for k in sorted(by) if k[0] == work and all(sh in by[k] for sh in SHAPES)]
    label = "waiting only" if work == 0 else f"{work} snprintf calls"
    for shape in SHAPES:
        us = [p[shape]["us"] for p in ps]
        wk = [p[shape]["wk"] for p in ps]
        ev = statistics.median(p[shape]["ev"] for p in ps)
        extra = " | | "
        if shape != "threads":
            ratios = [p[shape]["us"] / p["threads"]["us"] for p in ps]
            m, lo, hi, cov = median_interval(ratios)
            extra = f"{m:.3f} [{lo:.3f}, {hi:.3f}] | {cov:.0%} | {sum(r > 1 for r in ratios)} of {len(ps)}"
        print(f"| {label} | {shape} | {ev:.0f} | {statistics.median(wk):.2f} | "
              f"{statistics.median(us):.1f} ({min(us):.1f}–{max(us):.1f}) | {extra} |")
if skipped:
    print(f"\nNot measured: {skipped}.")
PY
echo "docs/coop.md updated (wait-shape)" >&2
