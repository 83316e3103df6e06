#include "stats/server.h"

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "allocator/prim/fd.h"
#include "allocator/prim/os.h"
#include "allocator/prim/sock.h"
#include "allocator/services.h"
#include "stats/json.h"
#include "stats/proto.h"
#include "stats/report.h"

#define MAX_CLIENTS 16
#define ACCEPTS_PER_ROUND 64
#define REPLY_LIMIT (1u << 20)
#define MS 1000000ULL
/* A client has this long to send a request, and to read its reply. */
#define CLIENT_TIMEOUT_NS (5000 * MS)
/* How often to check whether the application is still there. */
#define CENSUS_NS (1000 * MS)
/* After accept fails for want of descriptors or memory, wait this long. */
#define ACCEPT_BACKOFF_NS (100 * MS)

typedef struct {
	int fd;              /* -1: free slot */
	tm_fd_id id;
	bool eof;            /* the client will send nothing more */
	bool close_after;    /* close once the reply is out */
	size_t in_len;
	tm_json reply;
	const char *out;     /* reply being sent, NULL if none */
	size_t out_len, out_sent;
	uint64_t deadline_ns;
	char in[TM_PROTO_LINE_MAX];
} client;

static client clients[MAX_CLIENTS];
static bool clients_ready; /* the slots hold descriptors or -1, not zeros */
static tm_server_counters counters;

static void drop(client *c)
{
	/* Forget before closing: a child forked in between then leaves the
	 * number alone, rather than close one the application reused. */
	int fd = c->fd;
	c->fd = -1;
	tm_fd_close(fd, c->id);
	tm_json_free(&c->reply);
	c->out = NULL;
	counters.clients--;
}

static client *free_slot(void)
{
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd < 0)
			return &clients[i];
	return NULL;
}

/* A one-line error to a connection about to be closed; best effort, since
 * the peer may be gone or not reading. */
static void say_goodbye(int fd, const char *why)
{
	tm_json j;
	size_t len;
	tm_json_init(&j, 512);
	tm_proto_error(&j, TM_REQ_UNKNOWN, why);
	const char *text = tm_json_finish(&j, &len);
	if (text) {
		ssize_t unused = tm_sock_send(fd, text, len);
		(void)unused;
	}
	tm_json_free(&j);
}

static void turn_away(int fd, const char *why)
{
	say_goodbye(fd, why);
	tm_fd_close_own(fd);
}

static void admit(int fd, bool same_user, uint64_t now)
{
	if (!same_user) {
		counters.refused_user++;
		turn_away(fd, "refused: this process serves its own user only");
		return;
	}
	client *c = free_slot();
	if (!c) {
		counters.refused_busy++;
		turn_away(fd, "busy: too many clients at once; try again");
		return;
	}
	memset(c, 0, offsetof(client, in)); /* the buffer needs no clearing */
	c->fd = fd;
	c->id = tm_fd_id_of(fd);
	c->deadline_ns = now + CLIENT_TIMEOUT_NS;
	tm_json_init(&c->reply, REPLY_LIMIT);
	counters.accepted++;
	counters.clients++;
}

/* Returns the time before which accept should not be tried again. */
static uint64_t accept_clients(int listen_fd, uint64_t now)
{
	for (int i = 0; i < ACCEPTS_PER_ROUND; i++) {
		bool same_user;
		int fd = tm_sock_accept(listen_fd, &same_user);
		if (fd < 0)
			return errno == EMFILE || errno == ENFILE ||
				       errno == ENOBUFS || errno == ENOMEM
				       ? now + ACCEPT_BACKOFF_NS
				       : 0;
		admit(fd, same_user, now);
	}
	return 0;
}

/* Send what the socket takes now; the rest when poll says it can. */
static void flush(client *c, uint64_t now)
{
	while (c->out_sent < c->out_len) {
		ssize_t n = tm_sock_send(c->fd, c->out + c->out_sent,
					 c->out_len - c->out_sent);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			drop(c); /* the client went away mid-reply */
			return;
		}
		c->out_sent += (size_t)n;
	}
	c->out = NULL;
	tm_json_free(&c->reply);
	if (c->close_after)
		drop(c);
	else
		c->deadline_ns = now + CLIENT_TIMEOUT_NS;
}

static void reply_error(client *c, tm_request_kind kind, const char *why,
			bool then_close)
{
	tm_proto_error(&c->reply, kind, why);
	c->close_after = then_close;
	counters.errors++;
}

static void answer_line(client *c, size_t len)
{
	tm_request req;
	char err[160];
	switch (tm_proto_parse(c->in, len, &req, err, sizeof(err))) {
	case TM_PARSE_OK:
		tm_stats_answer(&req, &counters, &c->reply);
		counters.requests++;
		break;
	case TM_PARSE_BAD:
		reply_error(c, req.kind, err, false);
		break;
	case TM_PARSE_BINARY:
		reply_error(c, req.kind, err, true);
		break;
	}
}

/* Answer the client's next buffered request, if it has a whole one. */
static void serve_one(client *c, uint64_t now)
{
	size_t len;
	char why[64];
	switch (tm_proto_line(c->in, c->in_len, &len)) {
	case TM_LINE_PARTIAL:
		if (c->eof)
			drop(c);
		return;
	case TM_LINE_TOO_LONG:
		snprintf(why, sizeof(why), "request longer than %d bytes",
			 TM_PROTO_LINE_MAX);
		reply_error(c, TM_REQ_UNKNOWN, why, true);
		break;
	case TM_LINE_READY:
		answer_line(c, len);
		c->in_len -= len + 1;
		memmove(c->in, c->in + len + 1, c->in_len);
		break;
	}
	c->out = tm_json_finish(&c->reply, &c->out_len);
	c->out_sent = 0;
	c->deadline_ns = now + CLIENT_TIMEOUT_NS;
	if (!c->out)
		drop(c); /* out of memory even for an error */
	else
		flush(c, now);
}

static void receive(client *c)
{
	size_t room = sizeof(c->in) - c->in_len;
	if (room == 0)
		return; /* serve_one will call the line too long */
	ssize_t n = tm_sock_recv(c->fd, c->in + c->in_len, room);
	if (n > 0)
		c->in_len += (size_t)n;
	else if (n == 0)
		c->eof = true; /* answer what was sent, then close */
	else if (errno != EAGAIN && errno != EINTR)
		drop(c);
}

static void expire(client *c, uint64_t now)
{
	if (now < c->deadline_ns)
		return;
	counters.timeouts++;
	if (!c->out)
		say_goodbye(c->fd, "timed out waiting for a whole request line");
	drop(c);
}

/* One poll entry per client: read when idle, write while a reply is out. */
static int watch_clients(struct pollfd *fds, client **who)
{
	int n = 0;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		client *c = &clients[i];
		if (c->fd < 0 || (c->eof && !c->out))
			continue;
		fds[n].fd = c->fd;
		fds[n].events = c->out ? POLLOUT : POLLIN;
		who[n++] = c;
	}
	return n;
}

/* Milliseconds until the nearest deadline, or 0 when a buffered request
 * waits (pipelined requests are taken one per client per round). */
static int poll_timeout(uint64_t now, uint64_t wake_ns)
{
	uint64_t next = wake_ns;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		client *c = &clients[i];
		size_t len;
		if (c->fd < 0)
			continue;
		if (!c->out && (c->eof || tm_proto_line(c->in, c->in_len, &len) !=
						  TM_LINE_PARTIAL))
			return 0;
		if (c->deadline_ns < next)
			next = c->deadline_ns;
	}
	return next <= now ? 0 : (int)((next - now + MS - 1) / MS);
}

static void handle_events(struct pollfd *fds, client **who, int n, uint64_t now)
{
	for (int i = 0; i < n; i++) {
		client *c = who[i];
		if (!fds[i].revents || c->fd < 0)
			continue;
		if (c->out)
			flush(c, now);
		else
			receive(c);
	}
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i].fd >= 0 && !clients[i].out)
			serve_one(&clients[i], now);
		if (clients[i].fd >= 0)
			expire(&clients[i], now);
	}
}

bool tm_stats_serve(int listen_fd, int wake_fd)
{
	struct pollfd fds[2 + MAX_CLIENTS];
	client *who[MAX_CLIENTS];
	uint64_t census = tm_now_ns() + CENSUS_NS, accept_after = 0;
	bool gone = false;
	memset(&counters, 0, sizeof(counters));
	for (int i = 0; i < MAX_CLIENTS; i++)
		clients[i].fd = -1;
	clients_ready = true;
	for (;;) {
		uint64_t now = tm_now_ns();
		fds[0] = (struct pollfd){.fd = wake_fd, .events = POLLIN};
		fds[1] = (struct pollfd){.fd = now >= accept_after ? listen_fd : -1,
					 .events = POLLIN};
		int n = watch_clients(fds + 2, who);
		uint64_t wake = census;
		if (accept_after && accept_after < wake)
			wake = accept_after;
		if (tm_sock_wait(fds, (unsigned)n + 2, poll_timeout(now, wake)) < 0 &&
		    errno != EINTR)
			break;
		if (fds[0].revents)
			break;
		now = tm_now_ns();
		if (fds[1].revents)
			accept_after = accept_clients(listen_fd, now);
		handle_events(fds + 2, who, n, now);
		if (now >= census) {
			if ((gone = tm_services_alone()))
				break;
			census = now + CENSUS_NS;
		}
	}
	tm_stats_server_forget();
	return gone;
}

void tm_stats_server_forget(void)
{
	for (int i = 0; clients_ready && i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			drop(&clients[i]);
}
