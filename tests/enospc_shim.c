/*
 * enospc_shim.c: a full disk on demand, for tests/test_cli_full_disk.sh.
 * Loaded with LD_PRELOAD, it counts the calls that write (write, fwrite,
 * fputc, putc, fputs, puts, putchar, printf, fprintf, vprintf, vfprintf,
 * fflush, fclose, fsync) to anything but stderr, and from call number
 * $TG_ENOSPC_AT on (1 is the first; unset or 0: never) makes each fail with
 * ENOSPC as a full disk would: nothing more is written, the stream's error
 * flag is set, fclose still releases the stream. At exit the number of calls
 * is written to the file $TG_ENOSPC_COUNT (when set), so that a test knows
 * which N to try. stderr is left alone: the messages are what is checked.
 * What it leaves out: partial writes (a call writes all or nothing), and
 * failures of open, mkdir or rename.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long calls;
static long fail_at = -1; /* -1: not read yet */

/* Whether this write call (counted now) fails. */
static int full(int fd)
{
    if (fd == 2) return 0;
    if (fail_at < 0) {
        const char *s = getenv("TG_ENOSPC_AT");
        fail_at = s ? atol(s) : 0;
    }
    /* data build's threads write their tokens at the same time: a plain ++
     * could lose counts, and the N-th call would never come */
    long n = __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
    if (fail_at > 0 && n >= fail_at) {
        errno = ENOSPC;
        return 1;
    }
    return 0;
}

static int stream_full(FILE *fp)
{
    if (!fp || !full(fileno(fp))) return 0;
    fp->_flags |= 0x0020; /* glibc's _IO_ERR_SEEN: ferror() says so */
    errno = ENOSPC;
    return 1;
}

__attribute__((destructor)) static void write_count(void)
{
    const char *path = getenv("TG_ENOSPC_COUNT");
    if (!path) return;
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", __atomic_load_n(&calls, __ATOMIC_SEQ_CST));
    int fd = (int)syscall(SYS_open, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    if (syscall(SYS_write, fd, buf, (size_t)n) < 0) { /* nothing to do */ }
    syscall(SYS_close, fd);
}

#define REAL(ret, name, ...)                                                   \
    static ret (*real)(__VA_ARGS__);                                           \
    if (!real) *(void **)&real = dlsym(RTLD_NEXT, name)

ssize_t write(int fd, const void *buf, size_t n)
{
    REAL(ssize_t, "write", int, const void *, size_t);
    if (full(fd)) return -1;
    return real(fd, buf, n);
}

int fsync(int fd)
{
    REAL(int, "fsync", int);
    if (full(fd)) return -1;
    return real(fd);
}

size_t fwrite(const void *p, size_t size, size_t n, FILE *fp)
{
    REAL(size_t, "fwrite", const void *, size_t, size_t, FILE *);
    if (stream_full(fp)) return 0;
    return real(p, size, n, fp);
}

int fputc(int c, FILE *fp)
{
    REAL(int, "fputc", int, FILE *);
    if (stream_full(fp)) return EOF;
    return real(c, fp);
}

int putc(int c, FILE *fp)
{
    REAL(int, "putc", int, FILE *);
    if (stream_full(fp)) return EOF;
    return real(c, fp);
}

int putchar(int c)
{
    REAL(int, "putchar", int);
    if (stream_full(stdout)) return EOF;
    return real(c);
}

int fputs(const char *s, FILE *fp)
{
    REAL(int, "fputs", const char *, FILE *);
    if (stream_full(fp)) return EOF;
    return real(s, fp);
}

int puts(const char *s)
{
    REAL(int, "puts", const char *);
    if (stream_full(stdout)) return EOF;
    return real(s);
}

int vfprintf(FILE *fp, const char *fmt, va_list ap)
{
    REAL(int, "vfprintf", FILE *, const char *, va_list);
    if (stream_full(fp)) return -1;
    return real(fp, fmt, ap);
}

int vprintf(const char *fmt, va_list ap)
{
    REAL(int, "vfprintf", FILE *, const char *, va_list);
    if (stream_full(stdout)) return -1;
    return real(stdout, fmt, ap);
}

int fprintf(FILE *fp, const char *fmt, ...)
{
    REAL(int, "vfprintf", FILE *, const char *, va_list);
    if (stream_full(fp)) return -1;
    va_list ap;
    va_start(ap, fmt);
    int r = real(fp, fmt, ap);
    va_end(ap);
    return r;
}

int printf(const char *fmt, ...)
{
    REAL(int, "vfprintf", FILE *, const char *, va_list);
    if (stream_full(stdout)) return -1;
    va_list ap;
    va_start(ap, fmt);
    int r = real(stdout, fmt, ap);
    va_end(ap);
    return r;
}

int fflush(FILE *fp)
{
    REAL(int, "fflush", FILE *);
    if (fp && stream_full(fp)) return EOF;
    return real(fp);
}

int fclose(FILE *fp)
{
    REAL(int, "fclose", FILE *);
    if (fp && fileno(fp) != 2 && full(fileno(fp))) {
        real(fp);
        errno = ENOSPC;
        return EOF;
    }
    return real(fp);
}
