/*
 * Batched datagram I/O on one non-blocking IPv4 UDP socket: sendmmsg (with UDP GSO for a run of equal
 * datagrams) and recvmmsg into caller-owned slots. No Node-API here: addon.c checks the arguments and
 * calls these with spans it has already validated.
 */
#ifndef MBMS_BATCH_IO_H
#define MBMS_BATCH_IO_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Most datagrams per send or receive call (and per batch the addon accepts). */
#define BATCH_IO_MAX 1024
/* Errno values counted one by one (Linux's are below 134); anything above goes to slot 0. */
#define BATCH_IO_ERRNO_SLOTS 134

typedef struct {
    uint64_t sent_packets;   /* datagrams the kernel took */
    uint64_t send_calls;     /* sendmmsg syscalls */
    uint64_t gso_messages;   /* of the messages sent, those carrying several datagrams (UDP_SEGMENT) */
    uint64_t dropped;        /* datagrams given up after a send error other than EAGAIN (EMSGSIZE, …) */
    uint64_t received_packets;
    uint64_t receive_calls;  /* recvmmsg syscalls */
    uint64_t truncated;      /* datagrams longer than their slot (reported with length 0) */
    uint64_t errors[BATCH_IO_ERRNO_SLOTS]; /* per errno, of sends, receives and readiness */
} batch_io_stats;

typedef struct {
    int fd;
    /* Try UDP GSO for a batch of equal datagrams; cleared for good the first time the kernel refuses. */
    bool gso;
    /* The errno with which the kernel refused GSO (0: not refused). */
    int gso_refused;
    batch_io_stats st;
    struct mmsghdr msgs[BATCH_IO_MAX];
    struct iovec iov[BATCH_IO_MAX];
    struct sockaddr_in names[BATCH_IO_MAX]; /* receive: each datagram's source */
    int msg_packets[BATCH_IO_MAX];          /* send: datagrams in message i */
    union {
        char buf[CMSG_SPACE(sizeof(uint16_t))];
        struct cmsghdr align;
    } cmsg[BATCH_IO_MAX];
} batch_io;

/* Sets up `io` for the socket `fd`; `gso` false never tries UDP GSO. */
void batch_io_init(batch_io *io, int fd, bool gso);

/* Counts one error of errno `e`. */
void batch_io_count_error(batch_io *io, int e);

/*
 * Sends datagrams i = 0..count-1, `base + off[i]` of `len[i]` bytes, to `dest`. Returns how many were
 * handled: sent, or given up after an error other than EAGAIN (counted in `dropped` and per errno). Fewer
 * than `count` only when the socket's send buffer is full (EAGAIN): the caller retries the rest later.
 */
int batch_io_send(batch_io *io, const struct sockaddr_in *dest, uint8_t *base, const int32_t *off, const int32_t *len, int count);

/*
 * Receives up to `count` datagrams, datagram i into slot i: `base + off[i]` up to the next slot (the last
 * one up to `size`, the buffer's length). Its length goes to len[i] (0 if it did not fit: counted in
 * `truncated`), its source to io->names[i]. Returns how many were read; 0 when none was waiting.
 */
int batch_io_receive(batch_io *io, uint8_t *base, size_t size, const int32_t *off, int32_t *len, int count);

#endif
