/* hub_peers.c — following the frames other hubs commit: LISTEN, read back, refresh the view. */
#include "hub_peers.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fl_log.h"
#include "fl_time.h"
#include "hub_sql.h"
#include "hub_store.h"

#define RECONNECT_MIN_MS 500
#define RECONNECT_MAX_MS 10000

static atomic_uint_fast64_t m_notifications, m_applied, m_current, m_errors;
static atomic_int m_connected;

struct hub_peers {
	const hub_config *cfg;
	hub_registry *reg;
	hub_view *view;
	char instance[HUB_PEERS_INSTANCE_LEN];
	pthread_t thread;
	bool started;
	atomic_bool stop;
	bool listening;   /* LISTEN is in effect on store's connection (the thread's, once started) */
	hub_store *store; /* the thread's own connection: LISTEN and the reads */
	bool *dirty;      /* per cluster: a frame of another hub to read back */
};

int hub_peers_instance_id(char out[HUB_PEERS_INSTANCE_LEN], char err[FL_ERR_LEN])
{
	unsigned char b[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t got = fd >= 0 ? read(fd, b, sizeof(b)) : -1;
	if (fd >= 0)
		close(fd);
	if (got != (ssize_t)sizeof(b))
		return fl_seterr(err, FL_EIO, "cannot read /dev/urandom for the hub's instance id");
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return FL_OK;
}

void hub_peers_metrics_write(FILE *f)
{
	fprintf(f,
	        "# HELP fleetlens_hub_peer_notifications_total Frames other hubs on the database committed.\n"
	        "# TYPE fleetlens_hub_peer_notifications_total counter\n"
	        "fleetlens_hub_peer_notifications_total %llu\n"
	        "# HELP fleetlens_hub_peer_refreshes_total Clusters read back after another hub's frame: applied "
	        "to the view, current (the view had it already), error (retried on the next frame).\n"
	        "# TYPE fleetlens_hub_peer_refreshes_total counter\n"
	        "fleetlens_hub_peer_refreshes_total{result=\"applied\"} %llu\n"
	        "fleetlens_hub_peer_refreshes_total{result=\"current\"} %llu\n"
	        "fleetlens_hub_peer_refreshes_total{result=\"error\"} %llu\n"
	        "# HELP fleetlens_hub_peer_connected 1 while the hub listens for other hubs' frames.\n"
	        "# TYPE fleetlens_hub_peer_connected gauge\n"
	        "fleetlens_hub_peer_connected %d\n",
	        (unsigned long long)atomic_load(&m_notifications), (unsigned long long)atomic_load(&m_applied),
	        (unsigned long long)atomic_load(&m_current), (unsigned long long)atomic_load(&m_errors),
	        atomic_load(&m_connected));
}

/* Reads cluster i back and refreshes the view and registry. */
static void refresh(hub_peers *p, size_t i)
{
	const char *name = hub_view_name(p->view, i);
	fl_proto_frame f;
	hub_cluster_read cr;
	char err[FL_ERR_LEN];
	if (hub_store_read_cluster(p->store, name, &f, &cr, err) != FL_OK) {
		atomic_fetch_add(&m_errors, 1);
		fl_warn("peers: cannot read cluster %s back: %s", name, err);
		return;
	}
	int rv = hub_view_refresh(p->view, i, &f, cr.last_frame_ms, cr.overview_ms, cr.rows_gen);
	if (rv == FL_OK) {
		atomic_fetch_add(&m_applied, 1);
		int ri = hub_registry_find(p->reg, name);
		if (ri >= 0)
			hub_registry_observe(p->reg, (size_t)ri, &f, cr.last_frame_ms, cr.version_ms);
	} else if (rv == HUB_VIEW_OLDER) {
		atomic_fetch_add(&m_current, 1);
	} else {
		atomic_fetch_add(&m_errors, 1);
		fl_warn("peers: out of memory refreshing cluster %s", name);
	}
	fl_proto_frame_free(&f);
}

/* One notification: "CLUSTER\tINSTANCE\tKIND\tRECV_MS". */
static void on_notify(hub_peers *p, const char *payload)
{
	char cluster[FL_CLUSTER_LEN], inst[HUB_PEERS_INSTANCE_LEN + 8], kind[16];
	long long recv = 0;
	if (sscanf(payload, "%63[^\t]\t%40[^\t]\t%15[^\t]\t%lld", cluster, inst, kind, &recv) != 4)
		return;
	if (strcmp(inst, p->instance) == 0)
		return;                             /* this hub's own frame: applied already */
	int i = hub_registry_find(p->reg, cluster); /* active clusters only: a removed one is not followed */
	if (i < 0)
		return;
	atomic_fetch_add(&m_notifications, 1);
	hub_view_touch(p->view, (size_t)i, recv);
	if (strcmp(kind, "heartbeat") == 0) {
		fl_proto_frame hb;
		memset(&hb, 0, sizeof(hb));
		hub_registry_observe(p->reg, (size_t)i, &hb, recv, 0); /* time only */
	} else {
		p->dirty[i] = true;
	}
}

/* Waits up to ms for input on c and reads it. False when the connection broke. */
static bool wait_input(PGconn *c, int ms)
{
	struct pollfd pfd = {.fd = PQsocket(c), .events = POLLIN};
	if (pfd.fd < 0)
		return false;
	int n = poll(&pfd, 1, ms);
	if (n < 0 && errno != EINTR)
		return false;
	return n <= 0 || PQconsumeInput(c) == 1;
}

/* Connects (or resets) the thread's connection and LISTENs. */
static int listen_now(hub_peers *p, char err[FL_ERR_LEN])
{
	PGconn *c = hub_store_pgconn(p->store, err);
	if (c == NULL)
		return FL_EDB;
	PGresult *r = PQexec(c, "LISTEN " HUB_STORE_CHANNEL);
	int rv = PQresultStatus(r) == PGRES_COMMAND_OK ? FL_OK : hub_sql_error(c, r, "LISTEN", err);
	PQclear(r);
	atomic_store(&m_connected, rv == FL_OK);
	return rv;
}

static void *run(void *arg)
{
	hub_peers *p = arg;
	int64_t backoff = RECONNECT_MIN_MS;
	char err[FL_ERR_LEN];
	while (!atomic_load(&p->stop)) {
		size_t n = hub_view_count(p->view); /* a reload may add slots */
		if (!p->listening) {
			if (listen_now(p, err) != FL_OK) {
				fl_warn("peers: not following other hubs' frames (retrying in %lld ms): %.200s",
				        (long long)backoff, err);
				for (int64_t t = 0; t < backoff && !atomic_load(&p->stop); t += HUB_PEERS_POLL_MS)
					usleep(HUB_PEERS_POLL_MS * 1000);
				backoff = backoff * 2 < RECONNECT_MAX_MS ? backoff * 2 : RECONNECT_MAX_MS;
				continue;
			}
			/* Notifications sent while nobody listened are lost: read every cluster back. */
			fl_info("peers: listening for other hubs' frames again; reading every cluster back");
			for (size_t i = 0; i < n; i++)
				p->dirty[i] = true;
			p->listening = true;
			backoff = RECONNECT_MIN_MS;
		}
		for (size_t i = 0; i < n; i++) {
			if (p->dirty[i]) {
				p->dirty[i] = false;
				refresh(p, i);
			}
		}
		PGconn *c = hub_store_pgconn(p->store, err);
		bool ok = c != NULL && PQstatus(c) == CONNECTION_OK && wait_input(c, HUB_PEERS_POLL_MS);
		PGnotify *nt;
		while (ok && (nt = PQnotifies(c)) != NULL) {
			on_notify(p, nt->extra);
			PQfreemem(nt);
		}
		if (!ok) {
			p->listening = false; /* a reset connection listens no more */
			atomic_store(&m_connected, 0);
		}
	}
	atomic_store(&m_connected, 0);
	return NULL;
}

int hub_peers_new(const hub_config *cfg, hub_registry *reg, hub_view *view, const char *instance, hub_peers **out,
                  char err[FL_ERR_LEN])
{
	*out = NULL;
	hub_peers *p = calloc(1, sizeof(*p));
	if (p == NULL || (p->dirty = calloc(HUB_MAX_CLUSTERS, sizeof(bool))) == NULL ||
	    (p->store = hub_store_new(cfg->database_url)) == NULL) {
		if (p != NULL)
			free(p->dirty);
		free(p);
		return fl_seterr(err, FL_ENOMEM, "peers: out of memory");
	}
	p->cfg = cfg;
	p->reg = reg;
	p->view = view;
	snprintf(p->instance, sizeof(p->instance), "%s", instance);
	atomic_init(&p->stop, false);
	char why[FL_ERR_LEN];
	p->listening = listen_now(p, why) == FL_OK;
	if (!p->listening)
		fl_warn("peers: cannot listen for other hubs' frames yet (the thread retries): %s", why);
	*out = p;
	return FL_OK;
}

int hub_peers_start(hub_peers *p, char err[FL_ERR_LEN])
{
	if (pthread_create(&p->thread, NULL, run, p) != 0)
		return fl_seterr(err, FL_EIO, "peers: cannot start its thread");
	p->started = true;
	return FL_OK;
}

void hub_peers_stop(hub_peers *p)
{
	if (p == NULL)
		return;
	atomic_store(&p->stop, true);
	if (p->started)
		pthread_join(p->thread, NULL);
	atomic_store(&m_connected, 0);
	hub_store_free(p->store);
	free(p->dirty);
	free(p);
}
