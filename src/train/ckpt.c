/*
 * ckpt.c: checkpoints as one atomic unit: the files of a save go into a
 * temporary folder that a rename commits, then are linked into the run
 * folder; resumption from the newest complete one; the leftovers of killed
 * saves. The layout, the guarantee and the test hooks are in ckpt.h. What
 * it leaves out: the files' contents (model_save and friends write them), and
 * the log, which each trainer cuts back to its checkpoint on resume.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ckpt.h"
#include "core/core.h"

/* ------------------------------------------------------------------------ */
/* Folders and names. */

/* fsync of a folder, so that the renames in it are on disk. */
static tg_status sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return TG_ERR_IO;
    int bad = fsync(fd) != 0 && errno != EINVAL; /* some file systems cannot sync a folder */
    close(fd);
    return bad ? TG_ERR_IO : TG_OK;
}

/* Removes a folder of plain files (a checkpoint, finished or not). */
static void remove_dir(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        char p[2048];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(p, sizeof p, "%s/%s", path, e->d_name);
            remove(p);
        }
        closedir(d);
    }
    rmdir(path);
}

/* Whether s is one or more decimal digits and nothing else. */
static int all_digits(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return 0;
    return 1;
}

/* The number of a complete checkpoint's name "KIND-DIGITS" (any lower-case
 * KIND when kind is NULL), else -1. */
static long checkpoint_number(const char *name, const char *kind)
{
    const char *dash = strchr(name, '-');
    if (!dash || dash == name || strlen(dash + 1) > 15 || !all_digits(dash + 1)) return -1;
    size_t len = (size_t)(dash - name);
    if (kind && (strlen(kind) != len || strncmp(name, kind, len) != 0)) return -1;
    for (size_t i = 0; i < len; i++)
        if (name[i] < 'a' || name[i] > 'z') return -1;
    return strtol(dash + 1, NULL, 10);
}

/* The PID of a leftover "ANYTHING.tmp.PID", else -1. */
static long leftover_pid(const char *name)
{
    const char *t = NULL;
    for (const char *p = strstr(name, ".tmp."); p; p = strstr(p + 1, ".tmp.")) t = p;
    if (!t || t == name || strlen(t + 5) > 9 || !all_digits(t + 5)) return -1;
    return strtol(t + 5, NULL, 10);
}

/* Whether a leftover of process pid may go: the process is gone, or is this
 * one (whose own saves are never in progress when it cleans). */
static int pid_gone(long pid)
{
    if (pid <= 0) return 0;
    if (pid == (long)getpid()) return 1;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* ------------------------------------------------------------------------ */
/* Placing files in the run folder. */

static tg_status copy_file(const char *src, const char *dst)
{
    FILE *in = fopen(src, "rb");
    if (!in) return TG_ERR_IO;
    tg_atomic_file f;
    tg_status s = tg_atomic_open(&f, dst);
    if (s != TG_OK) {
        fclose(in);
        return s;
    }
    char buf[65536];
    size_t got;
    while (s == TG_OK && (got = fread(buf, 1, sizeof buf, in)) > 0)
        if (fwrite(buf, 1, got, f.fp) != got) s = TG_ERR_IO;
    if (ferror(in)) s = TG_ERR_IO;
    fclose(in);
    if (s != TG_OK) {
        tg_atomic_abort(&f);
        return s;
    }
    return tg_atomic_commit(&f);
}

/* Puts the file src at dst in one step: a hard link made under the name
 * dst.tmp.PID and renamed to dst, or a copy written the same way where the
 * file system has no hard links. */
static tg_status place_file(const char *src, const char *dst)
{
    char tmp[2100];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", dst, (long)getpid());
    remove(tmp);
    if (link(src, tmp) != 0) return errno == ENOENT ? TG_ERR_NOT_FOUND : copy_file(src, dst);
    int bad = rename(tmp, dst) != 0;
    remove(tmp); /* still there when dst was already src: rename then does nothing */
    return bad ? TG_ERR_IO : TG_OK;
}

static void test_point(ckpt_writer *w)
{
    if (!w) return;
    w->points++;
    if (w->pause_ms > 0) {
        struct timespec ts = {w->pause_ms / 1000, (w->pause_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (w->kill_at > 0 && w->points == w->kill_at) raise(SIGKILL);
}

/* Places every file of the checkpoint folder dir in the run folder (a test
 * point after each when w is not NULL). */
static tg_status publish(const char *run_dir, const char *dir, ckpt_writer *w)
{
    DIR *d = opendir(dir);
    if (!d) return TG_ERR_IO;
    tg_status s = TG_OK;
    struct dirent *e;
    char src[2048], dst[2048];
    while (s == TG_OK && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || leftover_pid(e->d_name) >= 0) continue;
        snprintf(src, sizeof src, "%s/%s", dir, e->d_name);
        snprintf(dst, sizeof dst, "%s/%s", run_dir, e->d_name);
        s = place_file(src, dst);
        test_point(w);
    }
    closedir(d);
    if (s == TG_OK) s = sync_dir(run_dir);
    return s;
}

/* Removes every complete checkpoint in dir but `keep`, each renamed to a
 * leftover's name first so that a kill never leaves half of one. */
static void prune(const char *dir, const char *keep)
{
    for (;;) {
        DIR *d = opendir(dir);
        if (!d) return;
        struct dirent *e;
        char old[2048] = "";
        while ((e = readdir(d)) != NULL)
            if (checkpoint_number(e->d_name, NULL) >= 0 && strcmp(e->d_name, keep) != 0) {
                snprintf(old, sizeof old, "%s/%s", dir, e->d_name);
                break;
            }
        closedir(d);
        if (!old[0]) return;
        char doomed[2100];
        snprintf(doomed, sizeof doomed, "%s.tmp.%ld", old, (long)getpid());
        if (rename(old, doomed) != 0) return;
        remove_dir(doomed);
    }
}

/* ------------------------------------------------------------------------ */
/* Saving. */

tg_status ckpt_begin(ckpt_writer *w, const char *run_dir, const char *kind, long number)
{
    memset(w, 0, sizeof *w);
    snprintf(w->run_dir, sizeof w->run_dir, "%s", run_dir);
    snprintf(w->name, sizeof w->name, "%s-%07ld", kind, number);
    const char *pause = getenv("TG_TEST_CKPT_PAUSE_MS"), *kill_at = getenv("TG_TEST_CKPT_KILL_AT");
    if (pause) w->pause_ms = strtol(pause, NULL, 10);
    if (kill_at) w->kill_at = strtol(kill_at, NULL, 10);
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/checkpoints", w->run_dir);
    if (!tg_is_dir(dir) && (tg_make_dirs(dir) != TG_OK || sync_dir(w->run_dir) != TG_OK)) return TG_ERR_IO;
    snprintf(w->tmp_dir, sizeof w->tmp_dir, "%s/%s.tmp.%ld", dir, w->name, (long)getpid());
    remove_dir(w->tmp_dir); /* a failed save of this process */
    return mkdir(w->tmp_dir, 0777) == 0 ? TG_OK : TG_ERR_IO;
}

const char *ckpt_file(ckpt_writer *w, const char *name)
{
    if (w->n_files++ > 0) test_point(w); /* between two files */
    snprintf(w->path, sizeof w->path, "%s/%s", w->tmp_dir, name);
    return w->path;
}

tg_status ckpt_end(ckpt_writer *w, tg_status s)
{
    if (s != TG_OK) {
        remove_dir(w->tmp_dir);
        return s;
    }
    test_point(w); /* after the last file */
    char dir[1100], final[1200];
    snprintf(dir, sizeof dir, "%s/checkpoints", w->run_dir);
    snprintf(final, sizeof final, "%s/%s", dir, w->name);
    if (sync_dir(w->tmp_dir) != TG_OK || rename(w->tmp_dir, final) != 0) {
        remove_dir(w->tmp_dir);
        return TG_ERR_IO;
    }
    if (sync_dir(dir) != TG_OK) return TG_ERR_IO;
    test_point(w); /* committed */
    s = publish(w->run_dir, final, w);
    if (s != TG_OK) return s;
    prune(dir, w->name);
    test_point(w);
    return TG_OK;
}

/* ------------------------------------------------------------------------ */
/* Resuming and cleaning. */

tg_status ckpt_newest(const char *run_dir, const char *kind, char *dir, size_t n)
{
    char cdir[1100];
    snprintf(cdir, sizeof cdir, "%s/checkpoints", run_dir);
    DIR *d = opendir(cdir);
    if (!d) return errno == ENOENT ? TG_ERR_NOT_FOUND : TG_ERR_IO;
    long best = -1;
    char path[2048];
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        long k = checkpoint_number(e->d_name, kind);
        if (k <= best) continue;
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", cdir, e->d_name);
        if (!tg_is_dir(p)) continue;
        best = k;
        memcpy(path, p, sizeof path);
    }
    closedir(d);
    if (best < 0) return TG_ERR_NOT_FOUND;
    snprintf(dir, n, "%s", path);
    return TG_OK;
}

tg_status ckpt_refuse_existing(const char *run_dir, char *err, size_t err_len)
{
    char dir[1100], model[1100];
    snprintf(model, sizeof model, "%s/model.safetensors", run_dir);
    if (tg_file_exists(model) || ckpt_newest(run_dir, NULL, dir, sizeof dir) == TG_OK)
        return tg_fail(err, err_len, TG_ERR_ARG,
                       "%s already holds a run: pass --resume to continue it, or choose another folder", run_dir);
    return TG_OK;
}

tg_status ckpt_resume_dir(const char *run_dir, const char *kind, char *dir, size_t n)
{
    tg_status s = ckpt_newest(run_dir, kind, dir, n);
    if (s == TG_OK) {
        s = publish(run_dir, dir, NULL);
        char cdir[1100];
        snprintf(cdir, sizeof cdir, "%s/checkpoints", run_dir);
        const char *slash = strrchr(dir, '/');
        if (s == TG_OK && slash) prune(cdir, slash + 1); /* a kill may have come before the pruning */
        return s;
    }
    if (s != TG_ERR_NOT_FOUND) return s;
    char legacy[1100];
    snprintf(legacy, sizeof legacy, "%s/model.safetensors", run_dir);
    if (!tg_file_exists(legacy)) return TG_ERR_NOT_FOUND;
    snprintf(dir, n, "%s", run_dir);
    return TG_OK;
}

/* Removes the leftovers in one folder; returns how many. */
static int clean_folder(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int removed = 0;
    for (;;) {
        struct dirent *e = readdir(d);
        if (!e) break;
        long pid = leftover_pid(e->d_name);
        if (!pid_gone(pid)) continue;
        char p[2048];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (tg_is_dir(p)) remove_dir(p);
        else remove(p);
        removed++;
    }
    closedir(d);
    return removed;
}

int ckpt_clean_stale(const char *run_dir)
{
    char cdir[1100];
    snprintf(cdir, sizeof cdir, "%s/checkpoints", run_dir);
    return clean_folder(run_dir) + clean_folder(cdir);
}
