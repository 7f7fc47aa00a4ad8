/* spoke_node_jobs.c — GPU jobs: the processes under /proc that hold GPU device files, and what each is doing.
 *
 * One cycle lists /proc, reads every process's fd folder (readlink of each entry) and reads nothing else
 * of a process that holds no GPU device file: stat, comm, cmdline, cwd and cgroup are read only for GPU
 * jobs, maps only for a GPU job whose command line names no framework, and environ only for GPU jobs when
 * job_env names variables (only those are kept; the buffer is wiped after). Every read is bounded. */
#include "spoke_node_dev.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spoke_job_params.h"
#include "spoke_node_read.h"
#include "spoke_redact.h"

#define MAX_PIDS     (1u << 22)   /* PID_MAX_LIMIT on 64-bit Linux */
#define MAX_FDS      (1u << 16)   /* fd entries looked at per process */
#define MAX_DEVS     32u          /* distinct GPU device files remembered per process */
#define DEV_LEN      64           /* a remembered device file's path, with its NUL */
#define STAT_READ    2048         /* /proc/PID/stat: about 300 bytes */
#define CMDLINE_READ 4096         /* of /proc/PID/cmdline, enough to fill FL_CMDLINE_LEN after redaction */
#define CGROUP_READ  8192         /* /proc/PID/cgroup: one line per v1 hierarchy */
#define MAPS_MAX     (8u << 20)   /* of /proc/PID/maps */
#define STAT_MAX     (4u << 20)   /* of /proc/stat, whose intr line is long on big machines */
#define ENVIRON_READ (128u << 10) /* of /proc/PID/environ (ARG_MAX-sized environments are cut) */

/* ---- small text helpers ---- */

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* Position of the first case-insensitive occurrence of needle (lower case) in s[0..n), or -1. */
static long find_ci(const char *s, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t i = 0; i + m <= n; i++) {
		size_t k = 0;
		while (k < m && lower(s[i + k]) == needle[k]) {
			k++;
		}
		if (k == m) {
			return (long)i;
		}
	}
	return -1;
}

/* The framework whose name appears first in s[0..n) (case-insensitive), or NULL. */
static const char *framework_in(const char *s, size_t n)
{
	static const char *const names[] = {"torch", "tensorflow", "jax", "mindspore", "paddle"};
	const char *best = NULL;
	long best_at = -1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		long at = find_ci(s, n, names[i]);
		if (at >= 0 && (best_at < 0 || at < best_at)) {
			best = names[i];
			best_at = at;
		}
	}
	return best;
}

/* The pod uid in a cgroup file's text: "pod<uid>" after a '/' or '-' on a line that names kubepods,
 * cgroupfs ("/kubepods/burstable/pod<uid>/...") or systemd ("kubepods-burstable-pod<uid_>.slice", the
 * underscores turned back into dashes). "" when none. */
static void pod_uid(const char *text, char out[FL_UID_LEN])
{
	out[0] = '\0';
	for (const char *line = text; *line != '\0';) {
		const char *end = strchr(line, '\n');
		if (end == NULL) {
			end = line + strlen(line);
		}
		long kp = find_ci(line, (size_t)(end - line), "kubepods");
		for (const char *p = kp >= 0 ? line + kp + 8 : end; p + 3 < end; p++) {
			if (memcmp(p, "pod", 3) != 0 || (p[-1] != '/' && p[-1] != '-')) {
				continue;
			}
			const char *u = p + 3;
			size_t len = 0;
			bool ok = true;
			while (u + len < end && u[len] != '/' && u[len] != '.') {
				char ch = u[len];
				ok = ok && ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
				            (ch >= 'A' && ch <= 'F') || ch == '-' || ch == '_');
				len++;
			}
			if (ok && len >= 32 && len <= 36) { /* a UUID, or a static pod's 32-hex-digit hash */
				for (size_t k = 0; k < len; k++) {
					out[k] = u[k] == '_' ? '-' : u[k];
				}
				out[len] = '\0';
				return;
			}
		}
		line = *end == '\n' ? end + 1 : end;
	}
}

/* ---- per process ---- */

/* The distinct GPU device files one process holds. */
typedef struct {
	char name[MAX_DEVS][DEV_LEN];
	uint32_t n;
	bool any;     /* holds at least one (possibly not remembered: too many or too long) */
	uint32_t fds; /* numeric entries of fd/ looked at (at most MAX_FDS) */
} devs;

static bool gpu_device(const char *t)
{
	return strcmp(t, "/dev/kfd") == 0 || strncmp(t, "/dev/dri/", 9) == 0 || strncmp(t, "/dev/nvidia", 11) == 0 ||
	       strncmp(t, "/dev/davinci", 12) == 0;
}

/* Reads /proc/PID/fd. False when the folder cannot be read (the process went away, or is not ours). */
static bool scan_fds(int procfd, const char *pid, devs *ds)
{
	char p[32];
	snprintf(p, sizeof(p), "%s/fd", pid);
	int fd = openat(procfd, p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0) {
			close(fd);
		}
		return false;
	}
	ds->n = 0;
	ds->any = false;
	unsigned seen = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && seen < MAX_FDS) {
		if (!spoke_node_read_num(e->d_name, INT_MAX, NULL)) {
			continue;
		}
		seen++;
		char t[256];
		ssize_t r = readlinkat(dirfd(d), e->d_name, t, sizeof(t) - 1);
		if (r <= 0) {
			continue; /* closed meanwhile */
		}
		t[r] = '\0';
		if (!gpu_device(t)) {
			continue;
		}
		ds->any = true;
		bool dup = false;
		for (uint32_t k = 0; k < ds->n && !dup; k++) {
			dup = strcmp(ds->name[k], t) == 0;
		}
		if (!dup && ds->n < MAX_DEVS && (size_t)r < DEV_LEN) {
			memcpy(ds->name[ds->n++], t, (size_t)r + 1);
		}
	}
	closedir(d);
	ds->fds = seen;
	return true;
}

static int dev_cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

/* The sorted device files, comma-separated, as many whole ones as fit the field. */
static void devices_field(devs *ds, char out[FL_DEVICES_LEN])
{
	char joined[FL_DEVICES_LEN];
	size_t len = 0;
	qsort(ds->name, ds->n, sizeof(ds->name[0]), dev_cmp);
	for (uint32_t k = 0; k < ds->n; k++) {
		size_t l = strlen(ds->name[k]), need = l + (len > 0 ? 1 : 0);
		if (len + need > sizeof(joined) - 1) {
			break;
		}
		if (len > 0) {
			joined[len++] = ',';
		}
		memcpy(joined + len, ds->name[k], l);
		len += l;
	}
	spoke_node_read_utf8(out, FL_DEVICES_LEN, joined, len);
}

/* What the node role takes from /proc/PID/stat. */
typedef struct {
	char state;
	int64_t ppid, pgid, cpu_ticks, threads, start_ticks, rss_pages;
} stat_fields;

/* /proc/PID/stat ("pid (comm) state ppid pgrp ... utime stime ... num_threads ... starttime vsize rss ..."; comm
 * may hold spaces and parentheses, so fields are counted from the last ')'). 0 or -errno / -EINVAL. */
static int read_stat(int procfd, const char *pid, stat_fields *f)
{
	char p[32], buf[STAT_READ];
	snprintf(p, sizeof(p), "%s/stat", pid);
	int rv = spoke_node_read_file(procfd, p, buf, sizeof(buf), NULL);
	if (rv != 0) {
		return rv;
	}
	const char *s = strrchr(buf, ')');
	if (s == NULL) {
		return -EINVAL;
	}
	s++;
	memset(f, 0, sizeof(*f));
	/* Fields after the comm: 0 state, 1 ppid, 2 pgrp, 11 utime, 12 stime, 17 num_threads, 19 starttime,
	 * 21 rss (pages). */
	for (int idx = 0; idx <= 21; idx++) {
		while (*s == ' ') {
			s++;
		}
		if (*s == '\0') {
			return -EINVAL;
		}
		if (idx == 0) {
			f->state = *s++;
			continue;
		}
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (end == s || (*end != ' ' && *end != '\0' && *end != '\n') || errno != 0) {
			return -EINVAL;
		}
		int64_t *to = idx == 1    ? &f->ppid
		              : idx == 2  ? &f->pgid
		              : idx == 17 ? &f->threads
		              : idx == 19 ? &f->start_ticks
		              : idx == 21 ? &f->rss_pages
		                          : NULL;
		if (to != NULL) {
			*to = v;
		} else if (idx == 11 || idx == 12) {
			f->cpu_ticks += v;
		}
		s = end;
	}
	return 0;
}

/* host_root/proc/uptime's first number ("12345.67 ...") in 1/100 s, or -1. */
static int64_t read_uptime_cs(int procfd)
{
	char buf[128];
	if (spoke_node_read_file(procfd, "uptime", buf, sizeof(buf), NULL) != 0) {
		return -1;
	}
	const char *s = buf;
	int64_t cs = 0;
	int n_int = 0, n_frac = 0;
	for (; *s >= '0' && *s <= '9' && n_int < 15; s++, n_int++) {
		cs = cs * 10 + (*s - '0');
	}
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9' && n_frac < 2; s++, n_frac++) {
			cs = cs * 10 + (*s - '0');
		}
	}
	for (; n_frac < 2; n_frac++) {
		cs *= 10;
	}
	return n_int > 0 ? cs : -1;
}

static int btime_line(void *ctx, char *line, size_t len)
{
	(void)len;
	if (strncmp(line, "btime ", 6) != 0) {
		return 0;
	}
	char *end;
	long long v = strtoll(line + 6, &end, 10);
	if (end != line + 6 && v > 0) {
		*(int64_t *)ctx = v;
	}
	return 1;
}

static int maps_line(void *ctx, char *line, size_t len)
{
	const char *path = memchr(line, '/', len);
	if (path == NULL) {
		return 0; /* anonymous, [heap], [stack] ... */
	}
	const char *f = framework_in(path, len - (size_t)(path - line));
	if (f == NULL) {
		return 0;
	}
	*(const char **)ctx = f;
	return 1;
}

/* Whether a read error means the process went away. */
static bool gone(int rv)
{
	return rv == -ENOENT || rv == -ESRCH;
}

typedef struct {
	int procfd;
	long clk_tck, page_size;
	const spoke_node_jobs_opts *opts;
	int64_t btime;                   /* seconds since the epoch; 0 not read yet, -1 unknown */
	int64_t uptime_cs;               /* 1/100 s; -2 not read yet, -1 unknown */
	const spoke_node_job_seen *seen; /* sorted by pid */
	uint32_t n_seen;
	char *environ; /* ENVIRON_READ bytes, allocated when first needed; wiped after each use */
} scan;

static int seen_cmp(const void *key, const void *item)
{
	int64_t pid = *(const int64_t *)key, other = ((const spoke_node_job_seen *)item)->pid;
	return (pid > other) - (pid < other);
}

/* What the previous cycle saw of job j (same pid and start), or NULL. */
static const spoke_node_job_seen *seen_job(const scan *sc, const fl_proto_job *j)
{
	const spoke_node_job_seen *s =
	    sc->seen != NULL ? bsearch(&j->pid, sc->seen, sc->n_seen, sizeof(*sc->seen), seen_cmp) : NULL;
	return s != NULL && s->started_ms == j->started_ms ? s : NULL;
}

/* ids, start, state, threads, rss and CPU time from stat; cpu_percent against the previous cycle; fds.
 * False when stat cannot be read. */
static bool read_metrics(scan *sc, const char *pid, const devs *ds, fl_proto_job *j, spoke_node_job_seen *now)
{
	stat_fields f;
	if (read_stat(sc->procfd, pid, &f) != 0) {
		return false;
	}
	j->ppid = f.ppid;
	j->pgid = f.pgid;
	if (sc->btime == 0) {
		sc->btime = -1;
		spoke_node_read_lines(sc->procfd, "stat", STAT_MAX, btime_line, &sc->btime);
	}
	if (sc->btime > 0 && f.start_ticks >= 0) {
		j->started_ms = sc->btime * 1000 + (f.start_ticks / sc->clk_tck) * 1000 +
		                (f.start_ticks % sc->clk_tck) * 1000 / sc->clk_tck;
	}
	j->state[0] = f.state > ' ' && f.state < 0x7f ? f.state : '?';
	j->state[1] = '\0';
	j->threads = f.threads;
	j->rss_bytes = f.rss_pages > 0 ? f.rss_pages * sc->page_size : 0;
	j->fds = ds->fds;
	if (sc->uptime_cs == -2) {
		sc->uptime_cs = read_uptime_cs(sc->procfd);
	}
	const spoke_node_job_seen *prev = seen_job(sc, j);
	if (prev != NULL && sc->uptime_cs >= 0 && prev->uptime_cs >= 0 && sc->uptime_cs > prev->uptime_cs &&
	    f.cpu_ticks >= prev->cpu_ticks) {
		/* (ticks / CLK_TCK) / (centiseconds / 100) * 100 */
		j->cpu_percent = (double)(f.cpu_ticks - prev->cpu_ticks) * 10000.0 /
		                 ((double)sc->clk_tck * (double)(sc->uptime_cs - prev->uptime_cs));
		j->has_cpu = true;
	}
	now->pid = j->pid;
	now->started_ms = j->started_ms;
	now->cpu_ticks = f.cpu_ticks;
	now->uptime_cs = sc->uptime_cs;
	return true;
}

static bool env_wanted(const spoke_node_jobs_opts *o, const char *name, size_t n)
{
	for (uint32_t i = 0; i < o->n_env_names; i++) {
		if (strlen(o->env_names[i]) == n && memcmp(o->env_names[i], name, n) == 0) {
			return true;
		}
	}
	return false;
}

/* The allowlisted variables of environ[0..len) into j->env (environ order, first of a name, at most
 * FL_PROTO_MAX_JOB_ENV). A last entry cut by the read is left out. 0 or -ENOMEM. */
static int pick_env(const scan *sc, size_t len, bool cut, fl_proto_job *j)
{
	uint32_t cap = 0;
	for (size_t at = 0; at < len && j->n_env < FL_PROTO_MAX_JOB_ENV;) {
		const char *e = sc->environ + at, *end = memchr(e, '\0', len - at);
		if (end == NULL && cut) {
			break;
		}
		size_t n = end != NULL ? (size_t)(end - e) : len - at;
		at += n + 1;
		const char *eq = memchr(e, '=', n);
		size_t kn = eq != NULL ? (size_t)(eq - e) : 0;
		if (kn == 0 || kn >= FL_KV_KEY_LEN || !env_wanted(sc->opts, e, kn)) {
			continue;
		}
		bool dup = false;
		for (uint32_t i = 0; i < j->n_env && !dup; i++) {
			dup = strlen(j->env[i].key) == kn && memcmp(j->env[i].key, e, kn) == 0;
		}
		if (dup) {
			continue;
		}
		if (j->n_env == cap) {
			uint32_t ncap = cap == 0 ? 8 : cap * 2;
			ncap = ncap < FL_PROTO_MAX_JOB_ENV ? ncap : FL_PROTO_MAX_JOB_ENV;
			fl_proto_kv *grown = realloc(j->env, ncap * sizeof(*grown));
			if (grown == NULL) {
				return -ENOMEM;
			}
			j->env = grown;
			cap = ncap;
		}
		fl_proto_kv *kv = &j->env[j->n_env++];
		memset(kv, 0, sizeof(*kv));
		memcpy(kv->key, e, kn);
		spoke_node_read_utf8(kv->value, sizeof(kv->value), eq + 1, n - kn - 1);
	}
	return 0;
}

/* j->env from /proc/PID/environ when job_env names variables. 0, -ENOMEM, or -errno when the process went
 * away (an environ that cannot be read otherwise, e.g. without the right to, is no variables). */
static int read_env(scan *sc, const char *pid, fl_proto_job *j)
{
	if (sc->opts->n_env_names == 0) {
		return 0;
	}
	if (sc->environ == NULL && (sc->environ = malloc(ENVIRON_READ)) == NULL) {
		return -ENOMEM;
	}
	char p[32];
	size_t len = 0;
	snprintf(p, sizeof(p), "%s/environ", pid);
	int rv = spoke_node_read_file(sc->procfd, p, sc->environ, ENVIRON_READ, &len);
	if (rv == 0) {
		rv = pick_env(sc, len, len == ENVIRON_READ - 1, j);
	}
	volatile char *w = sc->environ; /* nothing of it outlives this call but the allowlisted values */
	for (size_t i = 0; i <= len && i < ENVIRON_READ; i++) {
		w[i] = 0;
	}
	return rv == 0 || rv == -ENOMEM || gone(rv) ? rv : 0;
}

/* name, cmdline, params and config path, cwd, pod uid and framework. 0, -ENOMEM, or -errno / -EINVAL when
 * the process cannot be read whole. */
static int read_text(scan *sc, const char *pid, fl_proto_job *j, spoke_node_job_seen *now)
{
	char p[32], comm[64];
	snprintf(p, sizeof(p), "%s/comm", pid);
	int rv = spoke_node_read_str(sc->procfd, p, comm, sizeof(comm));
	if (rv != 0) {
		return rv;
	}
	spoke_node_read_utf8(j->name, sizeof(j->name), comm, strlen(comm));

	char raw[CMDLINE_READ];
	size_t raw_len = 0;
	snprintf(p, sizeof(p), "%s/cmdline", pid);
	if ((rv = spoke_node_read_file(sc->procfd, p, raw, sizeof(raw), &raw_len)) != 0) {
		return rv;
	}
	size_t keep = raw_len;
	if (raw_len == sizeof(raw) - 1) { /* read in part: drop the cut word (a URL cut before its '@' ...) */
		while (keep > 0 && raw[keep - 1] != '\0' && raw[keep - 1] != ' ' && raw[keep - 1] != '\t' &&
		       raw[keep - 1] != '\n') {
			keep--;
		}
	}
	char joined[FL_CMDLINE_LEN + 8]; /* a few bytes past the field, so the cut sees whole characters */
	size_t len = spoke_redact_cmdline(raw, keep, sc->opts->cmdline, joined, sizeof(joined));
	spoke_node_read_utf8(j->cmdline, sizeof(j->cmdline), joined, len);
	if (spoke_job_params(raw, keep, sc->opts->cmdline, &j->params, &j->n_params, j->config_path) != FL_OK) {
		return -ENOMEM;
	}

	char cwd[PATH_MAX];
	snprintf(p, sizeof(p), "%s/cwd", pid);
	ssize_t r = readlinkat(sc->procfd, p, cwd, sizeof(cwd));
	if (r < 0 && gone(rv = -errno)) {
		return rv;
	}
	spoke_node_read_utf8(j->cwd, sizeof(j->cwd), cwd, r > 0 ? (size_t)r : 0);

	char cg[CGROUP_READ];
	snprintf(p, sizeof(p), "%s/cgroup", pid);
	if (gone(rv = spoke_node_read_file(sc->procfd, p, cg, sizeof(cg), NULL))) {
		return rv;
	}
	pod_uid(rv == 0 ? cg : "", j->pod_uid);

	const char *fw = framework_in(raw, raw_len);
	const spoke_node_job_seen *prev = fw == NULL ? seen_job(sc, j) : NULL;
	fw = prev != NULL && prev->framework[0] != '\0' ? prev->framework : fw;
	if (fw == NULL) {
		snprintf(p, sizeof(p), "%s/maps", pid);
		if (gone(rv = spoke_node_read_lines(sc->procfd, p, MAPS_MAX, maps_line, &fw))) {
			return rv;
		}
	}
	if (fw != NULL) {
		snprintf(j->framework, sizeof(j->framework), "%s", fw);
	}
	snprintf(now->framework, sizeof(now->framework), "%s", j->framework);
	return 0;
}

static void free_job(fl_proto_job *j)
{
	free(j->params);
	free(j->env);
	j->params = j->env = NULL;
	j->n_params = j->n_env = 0;
}

/* Fills j and now for the GPU process pid (its devices in ds). 0 (read whole), -ENOMEM, or another negative
 * errno when it cannot be read whole (j then holds nothing to free). */
static int read_job(scan *sc, const char *pid, int64_t pid_num, devs *ds, fl_proto_job *j, spoke_node_job_seen *now)
{
	memset(j, 0, sizeof(*j));
	memset(now, 0, sizeof(*now));
	j->pid = pid_num;
	int rv = read_metrics(sc, pid, ds, j, now) ? 0 : -ENOENT;
	if (rv == 0) {
		rv = read_text(sc, pid, j, now);
	}
	if (rv == 0) {
		rv = read_env(sc, pid, j);
	}
	if (rv != 0) {
		free_job(j);
		return rv;
	}
	devices_field(ds, j->devices);
	return 0;
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* The numeric entries of /proc, sorted, into *pids (malloc'd). FL_OK or FL_ENOMEM. */
static int list_pids(int procfd, uint32_t **pids, uint32_t *n, char err[FL_ERR_LEN])
{
	*pids = NULL;
	*n = 0;
	int fd = dup(procfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0) {
			close(fd);
		}
		return fl_seterr(err, FL_EIO, "proc: cannot list: %s", strerror(errno));
	}
	uint32_t cap = 0;
	struct dirent *e;
	uint64_t v;
	while ((e = readdir(d)) != NULL) {
		if (!spoke_node_read_num(e->d_name, INT_MAX, &v) || *n == MAX_PIDS) {
			continue; /* "self", "stat", "sys" ... */
		}
		if (*n == cap) {
			uint32_t ncap = cap == 0 ? 1024 : cap * 2;
			uint32_t *np = realloc(*pids, (size_t)ncap * sizeof(*np));
			if (np == NULL) {
				closedir(d);
				free(*pids);
				*pids = NULL;
				*n = 0;
				return fl_seterr(err, FL_ENOMEM, "proc: out of memory");
			}
			*pids = np;
			cap = ncap;
		}
		(*pids)[(*n)++] = (uint32_t)v;
	}
	closedir(d);
	qsort(*pids, *n, sizeof(**pids), u32_cmp);
	return FL_OK;
}

/* Room for one more job in *jobs and *now (both cap entries). FL_OK or FL_ENOMEM. */
static int grow(fl_proto_job **jobs, spoke_node_job_seen **now, uint32_t *cap)
{
	uint32_t ncap = *cap == 0 ? 16 : *cap * 2;
	if (ncap > FL_PROTO_MAX_JOBS) {
		ncap = FL_PROTO_MAX_JOBS;
	}
	fl_proto_job *nj = realloc(*jobs, (size_t)ncap * sizeof(*nj));
	if (nj == NULL) {
		return FL_ENOMEM;
	}
	*jobs = nj;
	spoke_node_job_seen *ns = realloc(*now, (size_t)ncap * sizeof(*ns));
	if (ns == NULL) {
		return FL_ENOMEM;
	}
	*now = ns;
	*cap = ncap;
	return FL_OK;
}

/* The GPU jobs among pids into *jobs and *now (*count of them). FL_OK or FL_ENOMEM. */
static int scan_pids(scan *sc, const uint32_t *pids, uint32_t n_pids, fl_proto_job **jobs, spoke_node_job_seen **now,
                     uint32_t *count, spoke_node_counters *c)
{
	devs *ds = malloc(sizeof(*ds));
	uint32_t cap = 0;
	int rv = ds != NULL ? FL_OK : FL_ENOMEM;
	for (uint32_t i = 0; i < n_pids && rv == FL_OK; i++) {
		char pid[16];
		snprintf(pid, sizeof(pid), "%u", pids[i]);
		if (!scan_fds(sc->procfd, pid, ds)) {
			c->proc_unreadable++;
			continue;
		}
		if (!ds->any) {
			continue;
		}
		if (*count == FL_PROTO_MAX_JOBS) {
			c->jobs_dropped++;
			continue;
		}
		if (*count == cap && (rv = grow(jobs, now, &cap)) != FL_OK) {
			break;
		}
		int r = read_job(sc, pid, pids[i], ds, &(*jobs)[*count], &(*now)[*count]);
		if (r == 0) {
			(*count)++;
		} else if (r == -ENOMEM) {
			rv = FL_ENOMEM;
		} else {
			c->proc_unreadable++;
		}
	}
	free(ds);
	return rv;
}

int spoke_node_jobs(const char *host_root, const spoke_node_jobs_opts *opts, const spoke_node_job_seen *seen,
                    uint32_t n_seen, fl_proto_job **out, spoke_node_job_seen **now, uint32_t *n, spoke_node_counters *c,
                    char err[FL_ERR_LEN])
{
	*out = NULL;
	*n = 0;
	if (now != NULL) {
		*now = NULL;
	}
	scan sc = {.procfd = spoke_node_read_open_dir(host_root, "proc"),
	           .clk_tck = sysconf(_SC_CLK_TCK),
	           .page_size = sysconf(_SC_PAGESIZE),
	           .opts = opts,
	           .uptime_cs = -2,
	           .seen = seen,
	           .n_seen = n_seen};
	if (sc.procfd < 0) {
		size_t rl = strlen(host_root);
		return fl_seterr(err, FL_EIO, "%s%sproc: cannot open: %s", host_root,
		                 rl > 0 && host_root[rl - 1] == '/' ? "" : "/", strerror(-sc.procfd));
	}
	sc.clk_tck = sc.clk_tck > 0 ? sc.clk_tck : 100;
	sc.page_size = sc.page_size > 0 ? sc.page_size : 4096;
	uint32_t *pids, n_pids, count = 0;
	int rv = list_pids(sc.procfd, &pids, &n_pids, err);
	if (rv != FL_OK) {
		close(sc.procfd);
		return rv;
	}
	fl_proto_job *jobs = NULL;
	spoke_node_job_seen *seen_now = NULL;
	rv = scan_pids(&sc, pids, n_pids, &jobs, &seen_now, &count, c);
	free(sc.environ);
	free(pids);
	close(sc.procfd);
	if (rv != FL_OK || count == 0) {
		spoke_node_jobs_free(jobs, count);
		free(seen_now);
		return rv != FL_OK ? fl_seterr(err, rv, "GPU jobs: out of memory") : FL_OK;
	}
	*out = jobs;
	*n = count;
	if (now != NULL) {
		*now = seen_now;
	} else {
		free(seen_now);
	}
	return FL_OK;
}

void spoke_node_jobs_free(fl_proto_job *jobs, uint32_t n)
{
	for (uint32_t i = 0; jobs != NULL && i < n; i++) {
		free_job(&jobs[i]);
	}
	free(jobs);
}
