/* hub_safe_diff.c — rounding, clamping and the insert/update/revive/delete/touch decisions for
 * node_statistic and workload_statistic. */
#include "hub_safe_diff.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int hub_safe_centi(double value, bool has_value, int *centi)
{
	if (!has_value || !isfinite(value))
		return FL_EINVAL;
	if (value < 0.0)
		value = 0.0;
	if (value > 100.0)
		value = 100.0;
	*centi = (int)lround(value * 100.0);
	return FL_OK;
}

static int key_cmp(const char *c1, const char *n1, const char *c2, const char *n2)
{
	int r = strcmp(c1, c2);
	return r != 0 ? r : strcmp(n1, n2);
}

static int want_cmp(const void *a, const void *b)
{
	const hub_safe_want *x = a, *y = b;
	return key_cmp(x->cluster, x->node, y->cluster, y->node);
}

static int have_cmp(const void *a, const void *b)
{
	const hub_safe_have *x = a, *y = b;
	int r = key_cmp(x->cluster, x->node, y->cluster, y->node);
	if (r != 0)
		return r;
	return (x->id > y->id) - (x->id < y->id);
}

static int upd_cmp(const void *a, const void *b)
{
	const hub_safe_upd *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

static void add_upd(hub_safe_plan *p, int64_t id, int centi, hub_safe_op op)
{
	p->upd[p->n_upd++] = (hub_safe_upd){.id = id, .centi = centi, .op = op};
	if (op == HUB_SAFE_UPDATE)
		p->n_update++;
	else if (op == HUB_SAFE_REVIVE)
		p->n_revive++;
	else
		p->n_delete++;
}

/* The row of have[*h] (the lowest id of its key) against the wanted value (centi, or -2: no want). */
static void decide(hub_safe_plan *p, const hub_safe_have *row, int centi)
{
	if (centi == -2) {
		if (!row->deleted)
			add_upd(p, row->id, -1, HUB_SAFE_DELETE);
		else
			p->n_unchanged++;
	} else if (row->deleted) {
		add_upd(p, row->id, centi, HUB_SAFE_REVIVE);
	} else if (row->centi != centi) {
		add_upd(p, row->id, centi, HUB_SAFE_UPDATE);
	} else {
		p->touch[p->n_touch++] = row->id;
		p->n_unchanged++;
	}
}

static int id_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int hub_safe_diff(hub_safe_want *want, size_t n_want, hub_safe_have *have, size_t n_have, hub_safe_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	if (n_want > 0)
		qsort(want, n_want, sizeof(*want), want_cmp);
	if (n_have > 0)
		qsort(have, n_have, sizeof(*have), have_cmp);
	/* At most one write per have row or want row. */
	plan->upd = malloc((n_have > 0 ? n_have : 1) * sizeof(*plan->upd));
	plan->ins = malloc((n_want > 0 ? n_want : 1) * sizeof(*plan->ins));
	plan->touch = malloc((n_have > 0 ? n_have : 1) * sizeof(*plan->touch));
	if (plan->upd == NULL || plan->ins == NULL || plan->touch == NULL) {
		hub_safe_plan_free(plan);
		return FL_ENOMEM;
	}
	size_t w = 0, h = 0;
	while (w < n_want || h < n_have) {
		int r;
		if (w == n_want)
			r = 1;
		else if (h == n_have)
			r = -1;
		else
			r = key_cmp(want[w].cluster, want[w].node, have[h].cluster, have[h].node);
		/* The have rows of this key: have[h] is the lowest id, the rest are duplicates. */
		size_t h_end = h;
		if (r >= 0) {
			h_end = h + 1;
			while (h_end < n_have &&
			       key_cmp(have[h].cluster, have[h].node, have[h_end].cluster, have[h_end].node) == 0)
				h_end++;
			plan->n_duplicates += h_end - h - 1;
		}
		if (r > 0) { /* a SaFE row whose node the hub does not have */
			decide(plan, &have[h], -2);
			h = h_end;
			continue;
		}
		/* r <= 0: want[w] with (r == 0) or without (r < 0) a row. */
		int centi;
		const hub_safe_want *x = &want[w];
		bool fits = strlen(x->cluster) <= HUB_SAFE_CLUSTER_MAX && strlen(x->node) <= HUB_SAFE_NODE_MAX &&
		            x->node[0] != '\0';
		if (!fits || hub_safe_centi(x->value, x->has_value, &centi) != FL_OK) {
			plan->n_skipped++;
		} else if (r < 0) {
			plan->ins[plan->n_ins++] =
			    (hub_safe_ins){.cluster = x->cluster, .node = x->node, .centi = centi};
		} else {
			decide(plan, &have[h], centi);
		}
		w++;
		/* A repeated want key (the caller broke the contract) is treated as skipped, never written twice. */
		while (w < n_want && key_cmp(want[w].cluster, want[w].node, x->cluster, x->node) == 0) {
			plan->n_skipped++;
			w++;
		}
		if (r == 0)
			h = h_end;
	}
	qsort(plan->upd, plan->n_upd, sizeof(*plan->upd), upd_cmp);
	qsort(plan->touch, plan->n_touch, sizeof(*plan->touch), id_cmp);
	return FL_OK;
}

void hub_safe_plan_free(hub_safe_plan *plan)
{
	if (plan == NULL)
		return;
	free(plan->upd);
	free(plan->ins);
	free(plan->touch);
	memset(plan, 0, sizeof(*plan));
}

/* --- workload_statistic ----------------------------------------------------------------------------- */

static int wl_want_cmp(const void *a, const void *b)
{
	const hub_safe_wl_want *x = a, *y = b;
	return key_cmp(x->workload_id, x->cluster, y->workload_id, y->cluster);
}

static int wl_have_cmp(const void *a, const void *b)
{
	const hub_safe_wl_have *x = a, *y = b;
	int r = strcmp(x->workload_id, y->workload_id);
	return r != 0 ? r : (x->id > y->id) - (x->id < y->id);
}

static int wl_upd_cmp(const void *a, const void *b)
{
	const hub_safe_wl_write *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

static bool fits(const char *s, size_t max)
{
	return s[0] != '\0' && strlen(s) <= max;
}

int hub_safe_wl_diff(hub_safe_wl_want *want, size_t n_want, hub_safe_wl_have *have, size_t n_have,
                     hub_safe_wl_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	if (n_want > 1)
		qsort(want, n_want, sizeof(*want), wl_want_cmp);
	if (n_have > 1)
		qsort(have, n_have, sizeof(*have), wl_have_cmp);
	size_t cap = n_want > 0 ? n_want : 1;
	plan->upd = malloc(cap * sizeof(*plan->upd));
	plan->ins = malloc(cap * sizeof(*plan->ins));
	plan->touch = malloc(cap * sizeof(*plan->touch));
	if (plan->upd == NULL || plan->ins == NULL || plan->touch == NULL) {
		hub_safe_wl_plan_free(plan);
		return FL_ENOMEM;
	}
	size_t h = 0;
	const char *prev = NULL; /* the workload_id decided last */
	for (size_t w = 0; w < n_want; w++) {
		const hub_safe_wl_want *x = &want[w];
		if (x->hours <= 0) /* no hourly rows: no row (the caller should not pass it) */
			continue;
		if (prev != NULL && strcmp(prev, x->workload_id) == 0) { /* a second cluster's */
			plan->n_skipped++;
			continue;
		}
		prev = x->workload_id;
		/* Rows before this id belong to workloads the hub does not want now: left alone. */
		while (h < n_have && strcmp(have[h].workload_id, x->workload_id) < 0)
			h++;
		const hub_safe_wl_have *row = NULL;
		if (h < n_have && strcmp(have[h].workload_id, x->workload_id) == 0) {
			row = &have[h++];
			while (h < n_have && strcmp(have[h].workload_id, x->workload_id) == 0) {
				plan->n_duplicates++;
				h++;
			}
		}
		if (!fits(x->workload_id, HUB_SAFE_WORKLOAD_ID_MAX) || !fits(x->cluster, HUB_SAFE_CLUSTER_MAX) ||
		    strlen(x->ns) > HUB_SAFE_WORKSPACE_MAX) {
			plan->n_skipped++;
			continue;
		}
		hub_safe_wl_write wr = {.id = 0, .want = x, .uid = fits(x->uid, HUB_SAFE_UID_MAX) ? x->uid : NULL};
		if (hub_safe_centi(x->avg, true, &wr.avg) != FL_OK || hub_safe_centi(x->max, true, &wr.max) != FL_OK)
			wr.avg = wr.max = -1; /* not a number: written as no figure */
		if (row == NULL) {
			plan->ins[plan->n_ins++] = wr;
		} else if (row->avg != wr.avg || row->max != wr.max || row->points != x->hours ||
		           strcmp(row->uid, wr.uid != NULL ? wr.uid : "") != 0 ||
		           strcmp(row->cluster, x->cluster) != 0 || strcmp(row->workspace, x->ns) != 0) {
			wr.id = row->id;
			plan->upd[plan->n_upd++] = wr;
		} else {
			plan->touch[plan->n_touch++] = row->id;
			plan->n_unchanged++;
		}
	}
	if (plan->n_upd > 1)
		qsort(plan->upd, plan->n_upd, sizeof(*plan->upd), wl_upd_cmp);
	if (plan->n_touch > 1)
		qsort(plan->touch, plan->n_touch, sizeof(*plan->touch), id_cmp);
	return FL_OK;
}

void hub_safe_wl_plan_free(hub_safe_wl_plan *plan)
{
	if (plan == NULL)
		return;
	free(plan->upd);
	free(plan->ins);
	free(plan->touch);
	memset(plan, 0, sizeof(*plan));
}
