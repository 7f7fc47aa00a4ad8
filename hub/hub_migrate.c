/* hub_migrate.c — see hub_migrate.h. */
#include "hub_migrate.h"

#include <dirent.h>
#include <errno.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fl_log.h"

/* Any constant works; every hub uses the same one ("FlLens" in ASCII). */
#define HUB_MIGRATION_LOCK_KEY "77409586147443"

static int exec_cmd(hub_store *s, const char *what, const char *sql, int n, const char *const *vals,
                    char err[FL_ERR_LEN])
{
	return hub_store_exec(s, what, sql, n, vals, PGRES_COMMAND_OK, NULL, err);
}

static int is_migration_name(const struct dirent *d)
{
	const char *n = d->d_name;
	size_t len = strlen(n);
	if (len < 9 || len >= 200)
		return 0;
	for (int i = 0; i < 3; i++)
		if (n[i] < '0' || n[i] > '9')
			return 0;
	if (n[3] != '_' || strcmp(n + len - 4, ".sql") != 0)
		return 0;
	return 1;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int read_small_file(const char *path, char **out, char err[FL_ERR_LEN])
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return fl_seterr(err, FL_EIO, "%s: cannot open: %s", path, strerror(errno));
	char *buf = malloc(HUB_MIGRATE_MAX_BYTES + 1);
	if (buf == NULL) {
		fclose(f);
		return fl_seterr(err, FL_ENOMEM, "%s: out of memory", path);
	}
	size_t n = fread(buf, 1, HUB_MIGRATE_MAX_BYTES + 1, f);
	int bad = ferror(f);
	fclose(f);
	if (bad || n > HUB_MIGRATE_MAX_BYTES) {
		free(buf);
		return fl_seterr(err, bad ? FL_EIO : FL_ELIMIT, "%s: %s", path,
		                 bad ? "read error" : "larger than 1 MiB");
	}
	buf[n] = '\0';
	*out = buf;
	return FL_OK;
}

/* Applies one migration file if it is not recorded yet; *ran says whether it was. */
static int apply_one(hub_store *s, const char *path, const char *version, bool *ran, char err[FL_ERR_LEN])
{
	char *sql = NULL;
	int rv = read_small_file(path, &sql, err);
	if (rv != FL_OK)
		return rv;
	const char *v[] = {version};
	PGresult *r = NULL;
	*ran = false;
	if ((rv = exec_cmd(s, "BEGIN", "BEGIN", 0, NULL, err)) != FL_OK)
		goto out;
	if ((rv = hub_store_exec(s, "migration lock", "SELECT pg_advisory_xact_lock(" HUB_MIGRATION_LOCK_KEY ")", 0,
	                         NULL, PGRES_TUPLES_OK, NULL, err)) != FL_OK)
		goto out;
	if ((rv = exec_cmd(s, "schema_migrations",
	                   "CREATE TABLE IF NOT EXISTS schema_migrations ("
	                   "version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
	                   0, NULL, err)) != FL_OK)
		goto out;
	if ((rv = hub_store_exec(s, "schema_migrations", "SELECT 1 FROM schema_migrations WHERE version = $1", 1, v,
	                         PGRES_TUPLES_OK, &r, err)) != FL_OK)
		goto out;
	bool done = PQntuples(r) > 0;
	PQclear(r);
	if (!done) {
		/* The migration file is ours, not input: it may hold several statements, so no parameters. */
		if ((rv = hub_store_exec_script(s, path, sql, err)) != FL_OK)
			goto out;
		if ((rv = exec_cmd(s, "schema_migrations", "INSERT INTO schema_migrations (version) VALUES ($1)", 1, v,
		                   err)) != FL_OK)
			goto out;
		*ran = true;
	}
	rv = exec_cmd(s, "COMMIT", "COMMIT", 0, NULL, err);
out:
	if (rv != FL_OK) {
		hub_store_rollback(s);
		*ran = false;
	}
	free(sql);
	return rv;
}

int hub_migrate_apply(hub_store *s, const char *dir, json_t **versions, int *applied, char err[FL_ERR_LEN])
{
	*versions = NULL;
	*applied = 0;
	int rv = hub_store_connect(s, err);
	if (rv != FL_OK)
		return rv;
	struct dirent **list = NULL;
	int n = scandir(dir, &list, is_migration_name, by_name);
	if (n < 0)
		return fl_seterr(err, FL_EIO, "%s: cannot read migrations folder: %s", dir, strerror(errno));
	json_t *vers = json_array();
	if (n == 0)
		rv = fl_seterr(err, FL_EIO, "%s: no migrations (NNN_name.sql) found", dir);
	else if (n > HUB_MIGRATE_MAX_FILES)
		rv = fl_seterr(err, FL_ELIMIT, "%s: more than %d migrations", dir, HUB_MIGRATE_MAX_FILES);
	else if (vers == NULL)
		rv = fl_seterr(err, FL_ENOMEM, "out of memory");
	for (int i = 0; i < n && rv == FL_OK; i++) {
		char path[HUB_PATH_LEN + 256], version[200];
		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		snprintf(version, sizeof(version), "%.*s", (int)(strlen(list[i]->d_name) - 4), list[i]->d_name);
		bool ran = false;
		rv = apply_one(s, path, version, &ran, err);
		if (rv == FL_OK && json_array_append_new(vers, json_string(version)) != 0)
			rv = fl_seterr(err, FL_ENOMEM, "out of memory");
		if (ran) {
			fl_info("migration %s applied", version);
			(*applied)++;
		}
	}
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	if (rv != FL_OK) {
		json_decref(vers);
		return rv;
	}
	*versions = vers;
	return FL_OK;
}
