/*
 * Node-API (C, no C++) binding of batched UDP I/O on Linux (batch_io.c): a non-blocking IPv4 UDP socket
 * the addon owns, sendmmsg with UDP GSO, recvmmsg into the caller's slots, readability through libuv.
 *
 *   new UdpSocket(reuseAddr, gso)
 *   bind(host, port) / address() -> { address, port }
 *   addDestination(host, port) -> index           (a stored sockaddr; send() names it by index)
 *   addMembership(group, iface) / setMulticastTTL(n) / setMulticastLoopback(on) / setMulticastInterface(addr)
 *   setRecvBufferSize(bytes) / setSendBufferSize(bytes) -> the size the kernel granted
 *   send(buffer, offsets, lengths, count, dest) -> datagrams handled (fewer than count: EAGAIN, retry later)
 *   receive(buffer, offsets, lengths, max) -> datagrams read into slots 0..n-1 (lengths filled)
 *   sourceOf(i) -> { address, port } of datagram i of the last receive
 *   onReadable(fn | null)                         (fn runs on the event loop while datagrams wait)
 *   stats() -> counters and errors per errno name  (also after close)
 *   close()                                       (idempotent; every other method but stats() throws after it)
 *
 * Batches use the PacketBatch layout of src/srtp/batch.ts: datagram i is buffer[offsets[i] ..
 * offsets[i] + lengths[i]). Receive slot i runs from offsets[i] to offsets[i+1] (the last to the buffer's end).
 * Errors: bad arguments throw a TypeError with code 'ERR_INVALID_ARG' before any syscall; a failed set-up
 * syscall (bind, setsockopt) throws an Error whose code is the errno name (e.g. 'EADDRINUSE'), with
 * `errno` and `syscall`; use after close() throws code 'ERR_CLOSED'. Errors of send and receive are never
 * thrown: they are counted per errno (stats().errors).
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "batch_io.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define MAX_DESTINATIONS 64

typedef struct {
    napi_env env;
    batch_io *io;
    bool closed;
    bool hooked; /* the env cleanup hook is registered */
    uv_poll_t *poll;
    napi_ref self;     /* strong while a readable callback is set: the loop may call into this object */
    napi_ref callback; /* the readable callback */
    napi_async_context actx;
    int ndest;
    struct sockaddr_in dest[MAX_DESTINATIONS];
    int last_received;
} udp_sock;

/* ---------------------------------------------------------------- errors */

static const char *errno_name(int e) {
    const char *n = strerrorname_np(e);
    return n ? n : "EUNKNOWN";
}

static napi_value throw_arg(napi_env env, const char *msg) {
    napi_throw_type_error(env, "ERR_INVALID_ARG", msg);
    return NULL;
}

static napi_value throw_errno(napi_env env, const char *syscall, int e) {
    char msg[160];
    snprintf(msg, sizeof msg, "%s failed: %s (%s)", syscall, strerror(e), errno_name(e));
    napi_value js_code, js_msg, err, js_errno, js_syscall;
    if (napi_create_string_utf8(env, errno_name(e), NAPI_AUTO_LENGTH, &js_code) != napi_ok ||
        napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &js_msg) != napi_ok ||
        napi_create_error(env, js_code, js_msg, &err) != napi_ok ||
        napi_create_int32(env, e, &js_errno) != napi_ok ||
        napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &js_syscall) != napi_ok ||
        napi_set_named_property(env, err, "errno", js_errno) != napi_ok ||
        napi_set_named_property(env, err, "syscall", js_syscall) != napi_ok) {
        napi_throw_error(env, errno_name(e), msg);
        return NULL;
    }
    napi_throw(env, err);
    return NULL;
}

/* A Node-API call itself failed: keep its pending exception, or throw a generic one. */
static napi_value throw_napi(napi_env env) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, "ERR_NAPI", "Node-API call failed");
    return NULL;
}

#define NAPI_OK(call)                                                                                                  \
    do {                                                                                                               \
        if ((call) != napi_ok) return throw_napi(env);                                                                 \
    } while (0)

/* ---------------------------------------------------------------- arguments */

/* `this` and up to `n` arguments; the socket must be open unless `allow_closed`. */
static udp_sock *get_sock(napi_env env, napi_callback_info info, size_t n, napi_value *argv, bool allow_closed) {
    napi_value self;
    size_t argc = n;
    udp_sock *s = NULL;
    if (napi_get_cb_info(env, info, &argc, argv, &self, NULL) != napi_ok) return NULL;
    for (size_t i = argc; i < n; i++) napi_get_undefined(env, &argv[i]);
    if (napi_unwrap(env, self, (void **)&s) != napi_ok || s == NULL) {
        throw_arg(env, "not a UdpSocket");
        return NULL;
    }
    if (s->closed && !allow_closed) {
        napi_throw_error(env, "ERR_CLOSED", "the socket is closed");
        return NULL;
    }
    return s;
}

static bool get_int(napi_env env, napi_value v, int64_t min, int64_t max, int64_t *out, const char *what) {
    napi_valuetype t;
    double d;
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &d) != napi_ok ||
        d != (double)(int64_t)d || d < (double)min || d > (double)max) {
        char msg[96];
        snprintf(msg, sizeof msg, "%s must be an integer in %lld..%lld", what, (long long)min, (long long)max);
        throw_arg(env, msg);
        return false;
    }
    *out = (int64_t)d;
    return true;
}

static bool get_ipv4(napi_env env, napi_value v, struct in_addr *out, const char *what) {
    char s[64];
    size_t n = 0;
    napi_valuetype t;
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be an IPv4 address", what);
    if (napi_typeof(env, v, &t) != napi_ok || t != napi_string || napi_get_value_string_utf8(env, v, s, sizeof s, &n) != napi_ok ||
        n >= sizeof s - 1 || inet_pton(AF_INET, s, out) != 1) {
        throw_arg(env, msg);
        return false;
    }
    return true;
}

static bool get_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len, const char *what) {
    bool is = false;
    napi_typedarray_type type;
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a%s", what, want == napi_uint8_array ? " Uint8Array" : "n Int32Array");
    if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
        napi_get_typedarray_info(env, v, &type, len, data, NULL, NULL) != napi_ok || type != want) {
        throw_arg(env, msg);
        return false;
    }
    return true;
}

/* Buffer, offsets and lengths of a batch; `count` checked against both arrays and BATCH_IO_MAX. */
typedef struct {
    uint8_t *buf;
    size_t size;
    int32_t *off;
    int32_t *len;
    int count;
} batch_args;

static bool get_batch(napi_env env, napi_value *argv, batch_args *b) {
    void *buf = NULL, *off = NULL, *len = NULL;
    size_t nbuf = 0, noff = 0, nlen = 0;
    int64_t count;
    if (!get_typed(env, argv[0], napi_uint8_array, &buf, &nbuf, "buffer") ||
        !get_typed(env, argv[1], napi_int32_array, &off, &noff, "offsets") ||
        !get_typed(env, argv[2], napi_int32_array, &len, &nlen, "lengths")) {
        return false;
    }
    int64_t most = (int64_t)(noff < nlen ? noff : nlen);
    if (most > BATCH_IO_MAX) most = BATCH_IO_MAX;
    if (!get_int(env, argv[3], 0, most, &count, "count")) return false;
    *b = (batch_args){ buf, nbuf, off, len, (int)count };
    return true;
}

/* ---------------------------------------------------------------- life cycle */

static void free_handle(uv_handle_t *h) {
    free(h);
}

/* Closes the socket; `teardown`: the env is going away (no Node-API calls then). */
static void sock_close(udp_sock *s, bool teardown) {
    if (s->closed) return;
    s->closed = true;
    if (s->poll) {
        uv_poll_stop(s->poll); /* removes the fd from epoll: closing it next is safe */
        uv_close((uv_handle_t *)s->poll, free_handle);
        s->poll = NULL;
    }
    close(s->io->fd);
    if (teardown) return;
    if (s->callback) napi_delete_reference(s->env, s->callback);
    if (s->self) napi_delete_reference(s->env, s->self);
    if (s->actx) napi_async_destroy(s->env, s->actx);
    s->callback = s->self = NULL;
    s->actx = NULL;
}

static void cleanup_hook(void *arg) {
    udp_sock *s = arg;
    s->hooked = false;
    sock_close(s, true);
}

static void finalize(napi_env env, void *data, void *hint) {
    udp_sock *s = data;
    if (s->hooked) napi_remove_env_cleanup_hook(env, cleanup_hook, s);
    sock_close(s, true);
    free(s->io);
    free(s);
}

static napi_value js_new(napi_env env, napi_callback_info info) {
    napi_value argv[2], self;
    size_t argc = 2;
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
    bool reuse = false, gso = true;
    if (argc < 2 || napi_get_value_bool(env, argv[0], &reuse) != napi_ok || napi_get_value_bool(env, argv[1], &gso) != napi_ok) {
        return throw_arg(env, "new UdpSocket(reuseAddr: boolean, gso: boolean)");
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return throw_errno(env, "socket", errno);
    int one = 1;
    if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0) {
        int e = errno;
        close(fd);
        return throw_errno(env, "setsockopt(SO_REUSEADDR)", e);
    }
    udp_sock *s = calloc(1, sizeof *s);
    batch_io *io = malloc(sizeof *io);
    if (!s || !io) {
        free(s);
        free(io);
        close(fd);
        return throw_errno(env, "malloc", ENOMEM);
    }
    batch_io_init(io, fd, gso);
    /* A kernel without UDP GSO (< 4.18) refuses the option: send() never tries it then. */
    int seg = 0;
    socklen_t sl = sizeof seg;
    if (gso && getsockopt(fd, SOL_UDP, UDP_SEGMENT, &seg, &sl) != 0) {
        io->gso = false;
        io->gso_refused = errno;
    }
    s->env = env;
    s->io = io;
    if (napi_wrap(env, self, s, finalize, NULL, NULL) != napi_ok) {
        close(fd);
        free(io);
        free(s);
        return throw_napi(env);
    }
    if (napi_add_env_cleanup_hook(env, cleanup_hook, s) == napi_ok) s->hooked = true;
    return self;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
    udp_sock *s = get_sock(env, info, 0, NULL, true);
    if (!s) return NULL;
    if (s->hooked) {
        napi_remove_env_cleanup_hook(env, cleanup_hook, s);
        s->hooked = false;
    }
    sock_close(s, false);
    return NULL;
}

/* ---------------------------------------------------------------- set-up */

static napi_value address_object(napi_env env, const struct sockaddr_in *a) {
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    napi_value o, addr, port;
    NAPI_OK(napi_create_object(env, &o));
    NAPI_OK(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &addr));
    NAPI_OK(napi_create_int32(env, ntohs(a->sin_port), &port));
    NAPI_OK(napi_set_named_property(env, o, "address", addr));
    NAPI_OK(napi_set_named_property(env, o, "port", port));
    return o;
}

static bool get_sockaddr(napi_env env, napi_value host, napi_value port, struct sockaddr_in *a, int64_t min_port) {
    int64_t p;
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    if (!get_ipv4(env, host, &a->sin_addr, "host") || !get_int(env, port, min_port, 65535, &p, "port")) return false;
    a->sin_port = htons((uint16_t)p);
    return true;
}

static napi_value js_bind(napi_env env, napi_callback_info info) {
    napi_value argv[2];
    udp_sock *s = get_sock(env, info, 2, argv, false);
    struct sockaddr_in a;
    if (!s || !get_sockaddr(env, argv[0], argv[1], &a, 0)) return NULL;
    if (bind(s->io->fd, (struct sockaddr *)&a, sizeof a) != 0) return throw_errno(env, "bind", errno);
    return NULL;
}

static napi_value js_address(napi_env env, napi_callback_info info) {
    udp_sock *s = get_sock(env, info, 0, NULL, false);
    if (!s) return NULL;
    struct sockaddr_in a;
    socklen_t n = sizeof a;
    if (getsockname(s->io->fd, (struct sockaddr *)&a, &n) != 0) return throw_errno(env, "getsockname", errno);
    return address_object(env, &a);
}

static napi_value js_add_destination(napi_env env, napi_callback_info info) {
    napi_value argv[2], r;
    udp_sock *s = get_sock(env, info, 2, argv, false);
    struct sockaddr_in a;
    if (!s || !get_sockaddr(env, argv[0], argv[1], &a, 1)) return NULL;
    if (s->ndest == MAX_DESTINATIONS) return throw_arg(env, "too many destinations (64 at most)");
    s->dest[s->ndest] = a;
    NAPI_OK(napi_create_int32(env, s->ndest++, &r));
    return r;
}

static napi_value set_opt(napi_env env, udp_sock *s, int level, int name, const void *v, socklen_t n, const char *what) {
    if (setsockopt(s->io->fd, level, name, v, n) != 0) return throw_errno(env, what, errno);
    return NULL;
}

static napi_value js_add_membership(napi_env env, napi_callback_info info) {
    napi_value argv[2];
    udp_sock *s = get_sock(env, info, 2, argv, false);
    struct ip_mreq m;
    if (!s || !get_ipv4(env, argv[0], &m.imr_multiaddr, "group") || !get_ipv4(env, argv[1], &m.imr_interface, "interface")) return NULL;
    return set_opt(env, s, IPPROTO_IP, IP_ADD_MEMBERSHIP, &m, sizeof m, "setsockopt(IP_ADD_MEMBERSHIP)");
}

static napi_value js_set_multicast_ttl(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    udp_sock *s = get_sock(env, info, 1, argv, false);
    int64_t ttl;
    if (!s || !get_int(env, argv[0], 0, 255, &ttl, "ttl")) return NULL;
    int v = (int)ttl;
    return set_opt(env, s, IPPROTO_IP, IP_MULTICAST_TTL, &v, sizeof v, "setsockopt(IP_MULTICAST_TTL)");
}

static napi_value js_set_multicast_loopback(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    udp_sock *s = get_sock(env, info, 1, argv, false);
    bool on;
    if (!s) return NULL;
    if (napi_get_value_bool(env, argv[0], &on) != napi_ok) return throw_arg(env, "loopback must be a boolean");
    int v = on ? 1 : 0;
    return set_opt(env, s, IPPROTO_IP, IP_MULTICAST_LOOP, &v, sizeof v, "setsockopt(IP_MULTICAST_LOOP)");
}

static napi_value js_set_multicast_interface(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    udp_sock *s = get_sock(env, info, 1, argv, false);
    struct in_addr a;
    if (!s || !get_ipv4(env, argv[0], &a, "interface")) return NULL;
    return set_opt(env, s, IPPROTO_IP, IP_MULTICAST_IF, &a, sizeof a, "setsockopt(IP_MULTICAST_IF)");
}

static napi_value buffer_size(napi_env env, napi_callback_info info, int name, const char *what) {
    napi_value argv[1], r;
    udp_sock *s = get_sock(env, info, 1, argv, false);
    int64_t bytes;
    if (!s || !get_int(env, argv[0], 1, INT32_MAX / 2, &bytes, "bytes")) return NULL;
    int v = (int)bytes;
    if (setsockopt(s->io->fd, SOL_SOCKET, name, &v, sizeof v) != 0) return throw_errno(env, what, errno);
    socklen_t n = sizeof v;
    if (getsockopt(s->io->fd, SOL_SOCKET, name, &v, &n) != 0) return throw_errno(env, what, errno);
    NAPI_OK(napi_create_int32(env, v, &r));
    return r;
}

static napi_value js_set_recv_buffer_size(napi_env env, napi_callback_info info) {
    return buffer_size(env, info, SO_RCVBUF, "setsockopt(SO_RCVBUF)");
}

static napi_value js_set_send_buffer_size(napi_env env, napi_callback_info info) {
    return buffer_size(env, info, SO_SNDBUF, "setsockopt(SO_SNDBUF)");
}

/* ---------------------------------------------------------------- datagrams */

static napi_value js_send(napi_env env, napi_callback_info info) {
    napi_value argv[5], r;
    udp_sock *s = get_sock(env, info, 5, argv, false);
    batch_args b;
    int64_t dest;
    if (!s || !get_batch(env, argv, &b)) return NULL;
    if (s->ndest == 0) return throw_arg(env, "no destination: addDestination() first");
    if (!get_int(env, argv[4], 0, s->ndest - 1, &dest, "dest")) return NULL;
    int64_t end = 0;
    for (int i = 0; i < b.count; i++) {
        int64_t at = b.off[i], len = b.len[i];
        if (at < end || len < 0 || at + len > (int64_t)b.size) return throw_arg(env, "batch datagrams out of order, overlapping or outside the buffer");
        end = at + len;
    }
    NAPI_OK(napi_create_int32(env, batch_io_send(s->io, &s->dest[dest], b.buf, b.off, b.len, b.count), &r));
    return r;
}

static napi_value js_receive(napi_env env, napi_callback_info info) {
    napi_value argv[4], r;
    udp_sock *s = get_sock(env, info, 4, argv, false);
    batch_args b;
    if (!s || !get_batch(env, argv, &b)) return NULL;
    for (int i = 0; i < b.count; i++) {
        int64_t at = b.off[i], next = i + 1 < b.count ? b.off[i + 1] : (int64_t)b.size;
        if (at < 0 || next <= at || next > (int64_t)b.size) return throw_arg(env, "batch slots must be ascending, non-empty and inside the buffer");
    }
    s->last_received = batch_io_receive(s->io, b.buf, b.size, b.off, b.len, b.count);
    NAPI_OK(napi_create_int32(env, s->last_received, &r));
    return r;
}

static napi_value js_source_of(napi_env env, napi_callback_info info) {
    napi_value argv[1];
    udp_sock *s = get_sock(env, info, 1, argv, false);
    int64_t i;
    if (!s || !get_int(env, argv[0], 0, (int64_t)s->last_received - 1, &i, "index")) return NULL;
    return address_object(env, &s->io->names[i]);
}

static void on_poll(uv_poll_t *h, int status, int events) {
    udp_sock *s = h->data;
    napi_env env = s->env;
    if (status < 0) batch_io_count_error(s->io, -status);
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) != napi_ok) return;
    napi_value fn = NULL, self = NULL, result;
    if (napi_get_reference_value(env, s->callback, &fn) == napi_ok && napi_get_reference_value(env, s->self, &self) == napi_ok && fn && self) {
        /* The callback may close the socket: nothing of `s` is used after it returns. */
        if (napi_make_callback(env, s->actx, self, fn, 0, NULL, &result) == napi_pending_exception) {
            napi_value err;
            if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
        }
    }
    napi_close_handle_scope(env, scope);
}

static napi_value js_on_readable(napi_env env, napi_callback_info info) {
    napi_value argv[1], self;
    size_t argc = 1;
    NAPI_OK(napi_get_cb_info(env, info, &argc, argv, &self, NULL));
    udp_sock *s = get_sock(env, info, 1, argv, false);
    if (!s) return NULL;
    napi_valuetype t;
    NAPI_OK(napi_typeof(env, argv[0], &t));
    if (t != napi_function && t != napi_null && t != napi_undefined) return throw_arg(env, "onReadable takes a function or null");
    if (s->callback) {
        NAPI_OK(napi_delete_reference(env, s->callback));
        s->callback = NULL;
    }
    if (t != napi_function) {
        if (s->poll) uv_poll_stop(s->poll);
        if (s->self) NAPI_OK(napi_delete_reference(env, s->self));
        s->self = NULL;
        return NULL;
    }
    NAPI_OK(napi_create_reference(env, argv[0], 1, &s->callback));
    if (!s->self) NAPI_OK(napi_create_reference(env, self, 1, &s->self));
    if (!s->actx) {
        napi_value name;
        NAPI_OK(napi_create_string_utf8(env, "mbms-srtp:UdpSocket", NAPI_AUTO_LENGTH, &name));
        NAPI_OK(napi_async_init(env, self, name, &s->actx));
    }
    if (!s->poll) {
        struct uv_loop_s *loop;
        NAPI_OK(napi_get_uv_event_loop(env, &loop));
        uv_poll_t *p = malloc(sizeof *p);
        if (!p) return throw_errno(env, "malloc", ENOMEM);
        int e = uv_poll_init_socket(loop, p, s->io->fd);
        if (e != 0) {
            free(p);
            return throw_errno(env, "uv_poll_init_socket", -e);
        }
        p->data = s;
        s->poll = p;
    }
    int e = uv_poll_start(s->poll, UV_READABLE, on_poll);
    if (e != 0) return throw_errno(env, "uv_poll_start", -e);
    return NULL;
}

/* ---------------------------------------------------------------- stats */

static napi_status set_u64(napi_env env, napi_value o, const char *name, uint64_t v) {
    napi_value n;
    napi_status st = napi_create_double(env, (double)v, &n);
    return st == napi_ok ? napi_set_named_property(env, o, name, n) : st;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
    udp_sock *s = get_sock(env, info, 0, NULL, true);
    if (!s) return NULL;
    const batch_io_stats *st = &s->io->st;
    napi_value o, errors, gso, refused;
    NAPI_OK(napi_create_object(env, &o));
    NAPI_OK(set_u64(env, o, "sentPackets", st->sent_packets));
    NAPI_OK(set_u64(env, o, "sendCalls", st->send_calls));
    NAPI_OK(set_u64(env, o, "gsoMessages", st->gso_messages));
    NAPI_OK(set_u64(env, o, "dropped", st->dropped));
    NAPI_OK(set_u64(env, o, "receivedPackets", st->received_packets));
    NAPI_OK(set_u64(env, o, "receiveCalls", st->receive_calls));
    NAPI_OK(set_u64(env, o, "truncated", st->truncated));
    NAPI_OK(napi_get_boolean(env, s->io->gso, &gso));
    NAPI_OK(napi_set_named_property(env, o, "gso", gso));
    if (s->io->gso_refused) NAPI_OK(napi_create_string_utf8(env, errno_name(s->io->gso_refused), NAPI_AUTO_LENGTH, &refused));
    else NAPI_OK(napi_get_null(env, &refused));
    NAPI_OK(napi_set_named_property(env, o, "gsoRefused", refused));
    NAPI_OK(napi_create_object(env, &errors));
    for (int e = 0; e < BATCH_IO_ERRNO_SLOTS; e++) {
        if (st->errors[e]) NAPI_OK(set_u64(env, errors, e == 0 ? "EUNKNOWN" : errno_name(e), st->errors[e]));
    }
    NAPI_OK(napi_set_named_property(env, o, "errors", errors));
    return o;
}

/* ---------------------------------------------------------------- module */

static napi_value init(napi_env env, napi_value exports) {
#define METHOD(name, fn) { name, NULL, fn, NULL, NULL, NULL, napi_default_method, NULL }
    const napi_property_descriptor methods[] = {
        METHOD("bind", js_bind),
        METHOD("address", js_address),
        METHOD("addDestination", js_add_destination),
        METHOD("addMembership", js_add_membership),
        METHOD("setMulticastTTL", js_set_multicast_ttl),
        METHOD("setMulticastLoopback", js_set_multicast_loopback),
        METHOD("setMulticastInterface", js_set_multicast_interface),
        METHOD("setRecvBufferSize", js_set_recv_buffer_size),
        METHOD("setSendBufferSize", js_set_send_buffer_size),
        METHOD("send", js_send),
        METHOD("receive", js_receive),
        METHOD("sourceOf", js_source_of),
        METHOD("onReadable", js_on_readable),
        METHOD("stats", js_stats),
        METHOD("close", js_close),
    };
#undef METHOD
    napi_value cls, max;
    NAPI_OK(napi_define_class(env, "UdpSocket", NAPI_AUTO_LENGTH, js_new, NULL, sizeof methods / sizeof methods[0], methods, &cls));
    NAPI_OK(napi_set_named_property(env, exports, "UdpSocket", cls));
    NAPI_OK(napi_create_int32(env, BATCH_IO_MAX, &max));
    NAPI_OK(napi_set_named_property(env, exports, "MAX_BATCH", max));
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
