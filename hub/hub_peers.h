/* hub_peers.h — several hubs on one database: each hub's API view follows the frames the OTHER hubs
 * commit. Every hub's commit notifies HUB_STORE_CHANNEL (hub_store_write_frame with
 * opts.instance); this module's thread LISTENs on its own connection and, for a notification from
 * another instance, raises the cluster's last frame time (status) at once and, unless the frame was a
 * heartbeat, reads the cluster back from the database (hub_store_read_cluster) and refreshes the view
 * (hub_view_refresh: never backwards) and the registry. Notifications of one cluster that arrive
 * together cost one read. After a lost connection it reconnects with backoff and refreshes every
 * cluster, since notifications sent meanwhile are gone.
 *
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed. */
#ifndef HUB_PEERS_H
#define HUB_PEERS_H

#include <stdio.h>

#include "fl_err.h"
#include "hub_config.h"
#include "hub_registry.h"
#include "hub_view.h"

#define HUB_PEERS_INSTANCE_LEN 33  /* 32 hex characters */
#define HUB_PEERS_POLL_MS      250 /* the thread looks for stop requests this often */

/* A new random instance id (16 bytes from /dev/urandom as hex) into out. FL_OK or FL_EIO. */
int hub_peers_instance_id(char out[HUB_PEERS_INSTANCE_LEN], char err[FL_ERR_LEN]);

typedef struct hub_peers hub_peers;

/* Connects to cfg's database and LISTENs at once (cfg, reg and view borrowed; they must outlive it), so
 * that what other hubs commit after this call is followed — call it before loading the view. instance
 * is this hub's id (copied), whose own notifications are ignored. A database that does not answer now
 * is only a warning: the thread retries. FL_OK or FL_ENOMEM. */
int hub_peers_new(const hub_config *cfg, hub_registry *reg, hub_view *view, const char *instance, hub_peers **out,
                  char err[FL_ERR_LEN]);

/* Starts the thread that handles the notifications (after the view is loaded). FL_OK or FL_EIO. */
int hub_peers_start(hub_peers *p, char err[FL_ERR_LEN]);

/* Stops the thread if started (within HUB_PEERS_POLL_MS plus a read in progress) and frees p. NULL is
 * fine. */
void hub_peers_stop(hub_peers *p);

/* Appends the module's metrics as Prometheus text: fleetlens_hub_peer_notifications_total (frames other
 * hubs committed), fleetlens_hub_peer_refreshes_total{result="applied"|"current"|"error"} (cluster
 * reads), fleetlens_hub_peer_connected (1 while listening). Thread-safe. */
void hub_peers_metrics_write(FILE *f);

#endif
