/* hub_migrate.h — the hub's schema: applies sql/hub's migrations in order, each once, under an advisory lock.
 *
 * Runs on a hub_store's connection (hub_store_exec), so its failures read and count like the store's.
 * Return convention: FL_OK or a negative FL_E* (fl_err.h), err naming what failed (the file, for a migration). */
#ifndef HUB_MIGRATE_H
#define HUB_MIGRATE_H

#include <jansson.h>

#include "fl_err.h"
#include "hub_store.h"

#define HUB_MIGRATE_MAX_FILES 1000      /* migrations in the folder at most */
#define HUB_MIGRATE_MAX_BYTES (1 << 20) /* bytes of one migration file at most */

/* Applies every dir/NNN_*.sql (three digits, '_', ".sql") in name order that schema_migrations does
 * not list yet, each in its own transaction under pg_advisory_xact_lock, recording its version (the
 * file name without ".sql"). *versions (new reference, caller decrefs) is the JSON array of every
 * version found in dir; *applied counts the ones run now. FL_OK, FL_EIO (folder or file unreadable,
 * no migrations), FL_ELIMIT, or FL_EDB; err says which file. */
int hub_migrate_apply(hub_store *s, const char *dir, json_t **versions, int *applied, char err[FL_ERR_LEN]);

#endif
