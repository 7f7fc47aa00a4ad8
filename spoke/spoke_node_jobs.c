/* spoke_node_jobs.c — GPU jobs: the processes under /proc that hold GPU device files.
 *
 * One cycle lists /proc, reads every process's fd folder (readlink of each entry) and reads nothing else
 * of a process that holds no GPU device file: stat, comm, cmdline, cwd and cgroup are read only for GPU
 * jobs, and maps only for a GPU job whose command line names no framework. Every read is bounded. */
#include "spoke_node_dev.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spoke_node_read.h"
#include "spoke_redact.h"

#define MAX_PIDS     (1u << 22) /* PID_MAX_LIMIT on 64-bit Linux */
#define MAX_FDS      (1u << 16) /* fd entries looked at per process */
#define MAX_DEVS     32u        /* distinct GPU device files remembered per process */
#define DEV_LEN      64         /* a remembered device file's path, with its NUL */
#define STAT_READ    2048       /* /proc/PID/stat: about 300 bytes */
#define CMDLINE_READ 4096       /* of /proc/PID/cmdline, enough to fill FL_CMDLINE_LEN after redaction */
#define CGROUP_READ  8192       /* /proc/PID/cgroup: one line per v1 hierarchy */
#define MAPS_MAX     (8u << 20) /* of /proc/PID/maps */
#define STAT_MAX     (4u << 20) /* of /proc/stat, whose intr line is long on big machines */

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
	bool any; /* holds at least one (possibly not remembered: too many or too long) */
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

/* ppid, pgid and start ticks from /proc/PID/stat ("pid (comm) state ppid pgrp ... starttime ..."; comm
 * may hold spaces and parentheses, so fields are counted from the last ')'). 0 or -errno / -EINVAL. */
static int read_stat(int procfd, const char *pid, int64_t *ppid, int64_t *pgid, int64_t *ticks)
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
	/* Fields after the comm: 0 state, 1 ppid, 2 pgrp, ..., 19 starttime. */
	for (int idx = 0; idx <= 19; idx++) {
		while (*s == ' ') {
			s++;
		}
		if (*s == '\0') {
			return -EINVAL;
		}
		if (idx == 0) {
			s++;
			continue;
		}
		char *end;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (end == s || (*end != ' ' && *end != '\0' && *end != '\n') || errno != 0) {
			return -EINVAL;
		}
		if (idx == 1) {
			*ppid = v;
		} else if (idx == 2) {
			*pgid = v;
		} else if (idx == 19) {
			*ticks = v;
		}
		s = end;
	}
	return 0;
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
	long clk_tck;
	spoke_cmdline_mode cmdline;      /* what of a job's command line is sent */
	int64_t btime;                   /* seconds since the epoch; 0 not read yet, -1 unknown */
	const spoke_node_job_seen *seen; /* sorted by pid */
	uint32_t n_seen;
} scan;

static int seen_cmp(const void *key, const void *item)
{
	int64_t pid = *(const int64_t *)key, other = ((const spoke_node_job_seen *)item)->pid;
	return (pid > other) - (pid < other);
}

/* The framework an earlier cycle found for job j (same pid and start), or NULL. */
static const char *seen_framework(const scan *sc, const fl_proto_job *j)
{
	const spoke_node_job_seen *s =
	    sc->seen != NULL ? bsearch(&j->pid, sc->seen, sc->n_seen, sizeof(*sc->seen), seen_cmp) : NULL;
	return s != NULL && s->started_ms == j->started_ms && s->framework[0] != '\0' ? s->framework : NULL;
}

/* Fills j for the GPU process pid (its devices in ds). False when it cannot be read whole. */
static bool read_job(scan *sc, const char *pid, int64_t pid_num, devs *ds, fl_proto_job *j)
{
	char p[32];
	int64_t ticks = 0;
	memset(j, 0, sizeof(*j));
	j->pid = pid_num;
	if (read_stat(sc->procfd, pid, &j->ppid, &j->pgid, &ticks) != 0) {
		return false;
	}
	if (sc->btime == 0) {
		sc->btime = -1;
		spoke_node_read_lines(sc->procfd, "stat", STAT_MAX, btime_line, &sc->btime);
	}
	if (sc->btime > 0 && ticks >= 0) {
		j->started_ms =
		    sc->btime * 1000 + (ticks / sc->clk_tck) * 1000 + (ticks % sc->clk_tck) * 1000 / sc->clk_tck;
	}

	char comm[64];
	snprintf(p, sizeof(p), "%s/comm", pid);
	if (spoke_node_read_str(sc->procfd, p, comm, sizeof(comm)) != 0) {
		return false;
	}
	spoke_node_read_utf8(j->name, sizeof(j->name), comm, strlen(comm));

	char raw[CMDLINE_READ];
	size_t raw_len = 0;
	snprintf(p, sizeof(p), "%s/cmdline", pid);
	if (spoke_node_read_file(sc->procfd, p, raw, sizeof(raw), &raw_len) != 0) {
		return false;
	}
	size_t keep = raw_len;
	if (raw_len == sizeof(raw) - 1) { /* read in part: drop the cut word (a URL cut before its '@' ...) */
		while (keep > 0 && raw[keep - 1] != '\0' && raw[keep - 1] != ' ' && raw[keep - 1] != '\t' &&
		       raw[keep - 1] != '\n') {
			keep--;
		}
	}
	char joined[FL_CMDLINE_LEN + 8]; /* a few bytes past the field, so the cut sees whole characters */
	size_t len = spoke_redact_cmdline(raw, keep, sc->cmdline, joined, sizeof(joined));
	spoke_node_read_utf8(j->cmdline, sizeof(j->cmdline), joined, len);

	char cwd[PATH_MAX];
	snprintf(p, sizeof(p), "%s/cwd", pid);
	ssize_t r = readlinkat(sc->procfd, p, cwd, sizeof(cwd));
	if (r < 0 && gone(-errno)) {
		return false;
	}
	spoke_node_read_utf8(j->cwd, sizeof(j->cwd), cwd, r > 0 ? (size_t)r : 0);

	char cg[CGROUP_READ];
	snprintf(p, sizeof(p), "%s/cgroup", pid);
	int rv = spoke_node_read_file(sc->procfd, p, cg, sizeof(cg), NULL);
	if (gone(rv)) {
		return false;
	}
	pod_uid(cg, j->pod_uid);

	const char *fw = framework_in(raw, raw_len);
	if (fw == NULL) {
		fw = seen_framework(sc, j);
	}
	if (fw == NULL) {
		snprintf(p, sizeof(p), "%s/maps", pid);
		rv = spoke_node_read_lines(sc->procfd, p, MAPS_MAX, maps_line, &fw);
		if (gone(rv)) {
			return false;
		}
	}
	if (fw != NULL) {
		snprintf(j->framework, sizeof(j->framework), "%s", fw);
	}
	devices_field(ds, j->devices);
	return true;
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

int spoke_node_jobs(const char *host_root, spoke_cmdline_mode cmdline, const spoke_node_job_seen *seen, uint32_t n_seen,
                    fl_proto_job **out, uint32_t *n, spoke_node_counters *c, char err[FL_ERR_LEN])
{
	*out = NULL;
	*n = 0;
	scan sc = {.procfd = spoke_node_read_open_dir(host_root, "proc"),
	           .clk_tck = sysconf(_SC_CLK_TCK),
	           .cmdline = cmdline,
	           .seen = seen,
	           .n_seen = n_seen};
	if (sc.procfd < 0) {
		size_t rl = strlen(host_root);
		return fl_seterr(err, FL_EIO, "%s%sproc: cannot open: %s", host_root,
		                 rl > 0 && host_root[rl - 1] == '/' ? "" : "/", strerror(-sc.procfd));
	}
	if (sc.clk_tck <= 0) {
		sc.clk_tck = 100;
	}
	uint32_t *pids, n_pids;
	int rv = list_pids(sc.procfd, &pids, &n_pids, err);
	if (rv != FL_OK) {
		close(sc.procfd);
		return rv;
	}
	devs *ds = malloc(sizeof(*ds));
	fl_proto_job *jobs = NULL;
	uint32_t cap = 0, count = 0;
	rv = ds != NULL ? FL_OK : FL_ENOMEM;
	for (uint32_t i = 0; i < n_pids && rv == FL_OK; i++) {
		char pid[16];
		snprintf(pid, sizeof(pid), "%u", pids[i]);
		if (!scan_fds(sc.procfd, pid, ds)) {
			c->proc_unreadable++;
			continue;
		}
		if (!ds->any) {
			continue;
		}
		if (count == FL_PROTO_MAX_JOBS) {
			c->jobs_dropped++;
			continue;
		}
		if (count == cap) {
			uint32_t ncap = cap == 0 ? 16 : cap * 2;
			if (ncap > FL_PROTO_MAX_JOBS) {
				ncap = FL_PROTO_MAX_JOBS;
			}
			fl_proto_job *nj = realloc(jobs, (size_t)ncap * sizeof(*nj));
			if (nj == NULL) {
				rv = FL_ENOMEM;
				break;
			}
			jobs = nj;
			cap = ncap;
		}
		if (read_job(&sc, pid, pids[i], ds, &jobs[count])) {
			count++;
		} else {
			c->proc_unreadable++;
		}
	}
	free(ds);
	free(pids);
	close(sc.procfd);
	if (rv != FL_OK) {
		free(jobs);
		return fl_seterr(err, rv, "GPU jobs: out of memory");
	}
	if (count == 0) {
		free(jobs);
		jobs = NULL;
	}
	*out = jobs;
	*n = count;
	return FL_OK;
}
