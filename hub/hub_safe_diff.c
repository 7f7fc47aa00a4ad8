/* hub_safe_diff.c — rounding, clamping and the insert/update/revive/delete decision for node_statistic. */
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
		p->n_unchanged++;
	}
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
	if (plan->upd == NULL || plan->ins == NULL) {
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
	return FL_OK;
}

void hub_safe_plan_free(hub_safe_plan *plan)
{
	if (plan == NULL)
		return;
	free(plan->upd);
	free(plan->ins);
	memset(plan, 0, sizeof(*plan));
}
