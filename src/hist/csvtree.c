/*
 * csvtree.c - see csvtree.h.
 *
 * Every file stays open with one record read ahead, so the merge holds one
 * record per file whatever the size of the tree; a tree has a file per
 * station and parameter (a few thousand at most), and the open-files limit
 * is raised to fit.
 */
#define _GNU_SOURCE
#include "hist/csvtree.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

/* Malformed lines reported one by one per file; the rest are counted. */
#define BAD_LINES_SHOWN 10
/* Below this many files each gets a large read buffer; above, the default. */
#define BIG_BUFFER_FILES 256
#define BIG_BUFFER 65536

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_list(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

/* The names in dir (no dot files), sorted; NULL-terminated. */
static char **list_dir(const char *dir, vb_err *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        vb_fail(err, "%s: %s", dir, strerror(errno));
        return NULL;
    }
    size_t n = 0, cap = 16;
    char **v = calloc(cap, sizeof *v);
    struct dirent *e;
    while (v && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        if (n + 1 == cap) {
            char **nv = realloc(v, (cap *= 2) * sizeof *nv);
            if (!nv) {
                free_list(v);
                v = NULL;
                break;
            }
            v = nv;
        }
        if (!(v[n] = vb_strdup(e->d_name))) {
            free_list(v);
            v = NULL;
            break;
        }
        v[++n] = NULL;
    }
    closedir(d);
    if (!v) {
        vb_fail(err, "out of memory");
        return NULL;
    }
    qsort(v, n, sizeof *v, by_string);
    return v;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int add_source(vb_csvtree *t, size_t *cap, const char *datadir, const char *station,
                      const char *file)
{
    if (t->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        vb_csv_source *v = realloc(t->src, nc * sizeof *v);
        if (!v)
            return -1;
        t->src = v;
        *cap = nc;
    }
    vb_csv_source *s = &t->src[t->n];
    memset(s, 0, sizeof *s);
    vb_buf path = {0};
    s->station = vb_strdup(station);
    s->param = strndup(file, strlen(file) - 4);
    t->n++;
    if (vb_buf_printf(&path, "%s/%s/%s", datadir, station, file))
        return -1;
    s->path = path.data;
    return s->station && s->param ? 0 : -1;
}

int vb_csvtree_list(vb_csvtree *t, const char *datadir, const vb_log *log, vb_err *err)
{
    memset(t, 0, sizeof *t);
    t->log = log;
    char **stations = list_dir(datadir, err);
    if (!stations)
        return -1;
    size_t cap = 0;
    int rc = 0;
    vb_buf dir = {0};
    for (size_t i = 0; rc == 0 && stations[i]; i++) {
        dir.len = 0;
        if (vb_buf_printf(&dir, "%s/%s", datadir, stations[i])) {
            rc = vb_fail(err, "out of memory");
            break;
        }
        if (!is_dir(dir.data))
            continue;
        char **files = list_dir(dir.data, err);
        if (!files) {
            rc = -1;
            break;
        }
        for (size_t j = 0; rc == 0 && files[j]; j++) {
            size_t len = strlen(files[j]);
            if (len > 4 && strcmp(files[j] + len - 4, ".csv") == 0 &&
                add_source(t, &cap, datadir, stations[i], files[j]))
                rc = vb_fail(err, "out of memory");
        }
        free_list(files);
    }
    vb_buf_free(&dir);
    free_list(stations);
    if (rc == 0 && !(t->heap = malloc((t->n ? t->n : 1) * sizeof *t->heap)))
        rc = vb_fail(err, "out of memory");
    return rc;
}

void vb_csvtree_free(vb_csvtree *t)
{
    for (size_t i = 0; i < t->n; i++) {
        vb_csv_source *s = &t->src[i];
        if (s->f) {
            vb_csv_reader_free(&s->rd);
            fclose(s->f);
        }
        free(s->path);
        free(s->station);
        free(s->param);
    }
    free(t->src);
    free(t->heap);
    memset(t, 0, sizeof *t);
}

/* Room for one more open file: raises the soft limit towards the hard one when needed. */
static int fd_room(size_t open_files, vb_err *err)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 0;
    rlim_t want = (rlim_t)open_files + 64;
    if (rl.rlim_cur == RLIM_INFINITY || want <= rl.rlim_cur)
        return 0;
    if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
        return vb_fail(err,
                       "the tree has more files than may be open at once (limit %llu); raise "
                       "the limit (ulimit -n)",
                       (unsigned long long)rl.rlim_max);
    rl.rlim_cur =
        want + 1024 < rl.rlim_max || rl.rlim_max == RLIM_INFINITY ? want + 1024 : rl.rlim_max;
    return setrlimit(RLIMIT_NOFILE, &rl) == 0
               ? 0
               : vb_fail(err, "cannot raise the open-files limit: %s", strerror(errno));
}

static void finish(vb_csvtree *t, vb_csv_source *s)
{
    s->done = 1;
    s->consumed = s->pos;
    if (s->bad)
        vb_log_msg(t->log, VB_WARN,
                   "%s: %ld line(s) without a time,value pair skipped (first: line %ld)", s->path,
                   s->bad, s->first_bad);
}

static void bad_line(vb_csvtree *t, vb_csv_source *s, long line, const char *why)
{
    if (!s->bad++)
        s->first_bad = line;
    vb_log_msg(t->log, s->bad <= BAD_LINES_SHOWN ? VB_WARN : VB_DEBUG, "%s:%ld: %s; skipped",
               s->path, line, why);
}

/*
 * Past a record that does not parse: back to where it started and over its
 * first physical line only, so a stray quote costs one line, not the rest
 * of the file. Returns 1 when that line is the file's last and has no line
 * end yet (then nothing moves), 0 when skipped, -1 on a read error.
 */
static int skip_line(vb_csv_source *s)
{
    ssize_t n;
    if (fseeko(s->f, (off_t)s->pos, SEEK_SET) != 0 ||
        (n = getline(&s->rd.line, &s->rd.line_cap, s->f)) < 0)
        return -1;
    if (s->rd.line[n - 1] != '\n')
        return 1;
    s->pos = (long long)ftello(s->f);
    s->pos_lines++;
    s->rd.lineno = s->pos_lines;
    return 0;
}

static void partial(vb_csvtree *t, vb_csv_source *s)
{
    vb_log_msg(t->log, VB_NOTICE,
               "%s:%ld: the last line has no line end (still being written?); left for a later "
               "run",
               s->path, s->pos_lines + 1);
}

/* Whole seconds, the common case, without strtod; anything else through it. */
static int parse_time(const char *f, double *out)
{
    long long v = 0;
    const char *p = f;
    while (*p >= '0' && *p <= '9' && p - f < 15)
        v = v * 10 + (*p++ - '0');
    if (p > f && *p == '\0') {
        *out = (double)v;
        return 0;
    }
    return vb_parse_double(f, out) || fabs(*out) >= 9e15 ? -1 : 0;
}

/* Reads the next good record into the head: 1, or 0 when the file is done, -1 on a read error. */
static int read_head(vb_csvtree *t, vb_csv_source *s, vb_err *err)
{
    while (s->pos < s->size) {
        vb_err why;
        int rc = vb_csv_read(&s->rd, &why);
        if (rc == 0)
            break;
        if (rc < 0 && ferror(s->f)) {
            vb_fail(err, "%s: %s", s->path, why.msg);
            finish(t, s);
            return -1;
        }
        if (rc < 0) {
            long line = s->rd.record_line;
            int skipped = skip_line(s);
            if (skipped < 0) {
                vb_fail(err, "%s: cannot read on after line %ld", s->path, line);
                finish(t, s);
                return -1;
            }
            if (skipped > 0) {
                partial(t, s);
                break;
            }
            const char *msg = strncmp(why.msg, "line ", 5) == 0 ? strchr(why.msg, ':') : NULL;
            bad_line(t, s, line, msg ? msg + 2 : why.msg);
            continue;
        }
        long long end = (long long)ftello(s->f);
        if (end >= s->size && !s->ends_nl) {
            partial(t, s);
            break;
        }
        s->pos = end;
        s->pos_lines = s->rd.lineno;
        double tv;
        if (s->rd.nfields != 2 || parse_time(vb_csv_field(&s->rd, 0, NULL), &tv)) {
            bad_line(t, s, s->rd.record_line, "not a time,value record");
            continue;
        }
        s->t = tv;
        s->time = (long long)floor(tv);
        s->value = vb_csv_field(&s->rd, 1, &s->vlen);
        s->line = s->rd.record_line;
        return 1;
    }
    finish(t, s);
    return 0;
}

static int older(const vb_csvtree *t, size_t a, size_t b)
{
    const vb_csv_source *x = &t->src[a], *y = &t->src[b];
    return x->time < y->time || (x->time == y->time && a < b);
}

static void sift_down(vb_csvtree *t, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < t->nheap && older(t, t->heap[l], t->heap[m]))
            m = l;
        if (l + 1 < t->nheap && older(t, t->heap[l + 1], t->heap[m]))
            m = l + 1;
        if (m == i)
            return;
        size_t tmp = t->heap[i];
        t->heap[i] = t->heap[m];
        t->heap[m] = tmp;
        i = m;
    }
}

static void push(vb_csvtree *t, size_t idx)
{
    size_t i = t->nheap++;
    t->heap[i] = idx;
    while (i > 0 && older(t, t->heap[i], t->heap[(i - 1) / 2])) {
        size_t p = (i - 1) / 2, tmp = t->heap[i];
        t->heap[i] = t->heap[p];
        t->heap[p] = tmp;
        i = p;
    }
}

int vb_csvtree_open(vb_csvtree *t, size_t i, long long offset, long lines, vb_err *err)
{
    vb_csv_source *s = &t->src[i];
    size_t nopen = 0;
    for (size_t k = 0; k < t->n; k++)
        nopen += t->src[k].f != NULL;
    if (fd_room(nopen + 1, err))
        return -1;
    if (!(s->f = fopen(s->path, "re")))
        return vb_fail(err, "%s: %s", s->path, strerror(errno));
    struct stat st;
    unsigned char last = '\n';
    if (fstat(fileno(s->f), &st) != 0 ||
        (st.st_size > 0 && pread(fileno(s->f), &last, 1, st.st_size - 1) != 1) ||
        /* Also at 0: a stream that has seeked knows its offset, so ftello needs no lseek. */
        fseeko(s->f, (off_t)offset, SEEK_SET) != 0) {
        int e = errno;
        fclose(s->f);
        s->f = NULL;
        return vb_fail(err, "%s: %s", s->path, strerror(e));
    }
    if (t->n <= BIG_BUFFER_FILES)
        setvbuf(s->f, NULL, _IOFBF, BIG_BUFFER);
    vb_csv_reader_init(&s->rd, s->f, 2);
    s->rd.lineno = lines;
    s->size = (long long)st.st_size;
    s->ends_nl = last == '\n';
    s->pos = s->consumed = offset;
    s->pos_lines = lines;
    int rc = offset < s->size ? read_head(t, s, err) : (finish(t, s), 0);
    if (rc == 1)
        push(t, i);
    return rc < 0 ? -1 : 0;
}

int vb_csvtree_next(vb_csvtree *t, vb_csv_source **out, vb_err *err)
{
    int rc = 0;
    if (t->current) {
        vb_csv_source *s = t->current;
        t->current = NULL;
        rc = read_head(t, s, err);
        if (rc == 1)
            push(t, (size_t)(s - t->src));
    }
    if (rc < 0)
        return -1;
    if (t->nheap == 0)
        return 0;
    size_t i = t->heap[0];
    t->heap[0] = t->heap[--t->nheap];
    sift_down(t, 0);
    vb_csv_source *s = &t->src[i];
    s->consumed = s->pos;
    s->records++;
    t->current = s;
    *out = s;
    return 1;
}
