/* Batched datagram I/O: see batch_io.h. */
#define _GNU_SOURCE
#include "batch_io.h"

#include <errno.h>
#include <netinet/udp.h>
#include <string.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

/* Datagrams per GSO message: the kernel's UDP_MAX_SEGMENTS since 4.18 (later kernels allow more). */
#define GSO_MAX_SEGMENTS 64
/* Largest UDP payload over IPv4: 65535 - 20 (IP header) - 8 (UDP header). */
#define UDP_MAX_PAYLOAD 65507

void batch_io_init(batch_io *io, int fd, bool gso) {
    memset(io, 0, sizeof *io);
    io->fd = fd;
    io->gso = gso;
}

void batch_io_count_error(batch_io *io, int e) {
    io->st.errors[(e > 0 && e < BATCH_IO_ERRNO_SLOTS) ? e : 0]++;
}

/* Datagrams per message for this batch: > 1 when every datagram has one size and GSO may carry them. */
static int gso_segments(const batch_io *io, const int32_t *len, int count) {
    if (!io->gso || count < 2 || len[0] <= 0 || len[0] > UDP_MAX_PAYLOAD / 2) return 1;
    for (int i = 1; i < count; i++) {
        if (len[i] != len[0]) return 1;
    }
    int per = UDP_MAX_PAYLOAD / len[0];
    return per < GSO_MAX_SEGMENTS ? per : GSO_MAX_SEGMENTS;
}

/* Fills io->msgs with datagrams from..count-1, `per` datagrams to a message; returns the messages. */
static int build_send(batch_io *io, const struct sockaddr_in *dest, uint8_t *base, const int32_t *off, const int32_t *len,
                      int from, int count, int per) {
    int m = 0;
    for (int i = from; i < count; m++) {
        int k = count - i < per ? count - i : per;
        struct msghdr *h = &io->msgs[m].msg_hdr;
        memset(h, 0, sizeof *h);
        h->msg_name = (void *)dest;
        h->msg_namelen = sizeof *dest;
        h->msg_iov = &io->iov[i];
        h->msg_iovlen = (size_t)k;
        for (int j = 0; j < k; j++) {
            io->iov[i + j].iov_base = base + off[i + j];
            io->iov[i + j].iov_len = (size_t)len[i + j];
        }
        if (k > 1) {
            h->msg_control = io->cmsg[m].buf;
            h->msg_controllen = sizeof io->cmsg[m].buf;
            struct cmsghdr *c = CMSG_FIRSTHDR(h);
            c->cmsg_level = SOL_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t seg = (uint16_t)len[i];
            memcpy(CMSG_DATA(c), &seg, sizeof seg);
        }
        io->msg_packets[m] = k;
        i += k;
    }
    return m;
}

/* The kernel refusing a GSO message (no UDP_SEGMENT, no checksum offload on the route, segment > MTU). */
static bool gso_refusal(int e) {
    return e == EIO || e == EINVAL || e == ENOPROTOOPT || e == EOPNOTSUPP;
}

int batch_io_send(batch_io *io, const struct sockaddr_in *dest, uint8_t *base, const int32_t *off, const int32_t *len, int count) {
    int done = 0;
    while (done < count) {
        int per = gso_segments(io, len + done, count - done);
        int msgs = build_send(io, dest, base, off, len, done, count, per);
        io->st.send_calls++;
        int r = sendmmsg(io->fd, io->msgs, (unsigned)msgs, 0);
        if (r > 0) {
            for (int m = 0; m < r; m++) {
                done += io->msg_packets[m];
                io->st.sent_packets += (uint64_t)io->msg_packets[m];
                if (io->msg_packets[m] > 1) io->st.gso_messages++;
            }
            continue;
        }
        int e = errno;
        if (e == EINTR) continue;
        batch_io_count_error(io, e);
        if (e == EAGAIN || e == EWOULDBLOCK) break;
        if (per > 1 && gso_refusal(e)) {
            io->gso = false; /* detected once: plain sendmmsg from now on */
            io->gso_refused = e;
            continue;
        }
        /* The first message failed for good (EMSGSIZE, ENOBUFS, ECONNREFUSED, …): give it up, go on. */
        done += io->msg_packets[0];
        io->st.dropped += (uint64_t)io->msg_packets[0];
    }
    return done;
}

/* A few errors (e.g. ICMP port unreachable on a socket that also sends) are reported one per call. */
#define RECEIVE_ERROR_RETRIES 4

int batch_io_receive(batch_io *io, uint8_t *base, size_t size, const int32_t *off, int32_t *len, int count) {
    for (int i = 0; i < count; i++) {
        size_t end = i + 1 < count ? (size_t)off[i + 1] : size;
        io->iov[i].iov_base = base + off[i];
        io->iov[i].iov_len = end - (size_t)off[i];
        struct msghdr *h = &io->msgs[i].msg_hdr;
        memset(h, 0, sizeof *h);
        h->msg_name = &io->names[i];
        h->msg_namelen = sizeof io->names[i];
        h->msg_iov = &io->iov[i];
        h->msg_iovlen = 1;
    }
    for (int tries = 0; count > 0 && tries <= RECEIVE_ERROR_RETRIES;) {
        io->st.receive_calls++;
        int r = recvmmsg(io->fd, io->msgs, (unsigned)count, MSG_DONTWAIT, NULL);
        if (r >= 0) {
            for (int i = 0; i < r; i++) {
                if (io->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
                    len[i] = 0;
                    io->st.truncated++;
                } else {
                    len[i] = (int32_t)io->msgs[i].msg_len;
                }
            }
            io->st.received_packets += (uint64_t)r;
            return r;
        }
        int e = errno;
        if (e == EINTR) continue;
        if (e == EAGAIN || e == EWOULDBLOCK) return 0;
        batch_io_count_error(io, e);
        tries++;
    }
    return 0;
}
