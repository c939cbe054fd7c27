/*
 * cli_opts.c: option parsing for every subcommand from a table of options.
 * Long options (--name VALUE or --name=VALUE) and short aliases (-n VALUE);
 * numbers go through strtol/strtod and must be consumed to the end of the
 * string and lie in range, so a typo is never a silent zero. "--" ends the
 * options; "-" alone is a positional argument (standard input). Every
 * command's --threads is capped at the cores online, with a warning.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* ------------------------------------------------------------------------ */
/* Messages. File names and inputs come from outside: their bytes are escaped
 * (cli_escape) so that a name holding ESC or a newline prints as \x1b or \n
 * instead of acting on the terminal. */

size_t cli_escape(const char *in, char *out, size_t out_len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)in;
    size_t n = 0;
#define PUT(c) do { if (n + 1 < out_len) out[n] = (char)(c); n++; } while (0)
    while (*p) {
        unsigned c = *p;
        /* a valid UTF-8 sequence of 2..4 bytes, other than the C1 controls (U+0080..U+009F) */
        int len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
        for (int k = 1; k < len; k++)
            if ((p[k] & 0xc0) != 0x80) len = 0;
        if (len == 2 && c == 0xc2 && p[1] < 0xa0) len = 0;
        if (len == 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] >= 0xa0))) len = 0;
        if (len == 4 && ((c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] >= 0x90))) len = 0;
        if (len) {
            for (int k = 0; k < len; k++) PUT(p[k]);
            p += len;
        } else if (c >= 0x20 && c < 0x7f) {
            PUT(c);
            p++;
        } else {
            PUT('\\');
            if (c == '\n') PUT('n');
            else if (c == '\t') PUT('t');
            else if (c == '\r') PUT('r');
            else {
                PUT('x');
                PUT(hex[c >> 4]);
                PUT(hex[c & 15]);
            }
            p++;
        }
    }
#undef PUT
    if (out_len) out[n < out_len ? n : out_len - 1] = 0;
    return n;
}

/* Prints prefix, the message with its bytes escaped, and a newline to stderr. */
static void print_escaped(const char *prefix, const char *msg)
{
    char small[1024];
    size_t n = cli_escape(msg, small, sizeof small);
    char *big = n < sizeof small ? NULL : malloc(n + 1);
    if (big) cli_escape(msg, big, n + 1);
    fprintf(stderr, "%s%s\n", prefix, big ? big : small);
    free(big);
}

static void vprint_escaped(const char *prefix, const char *fmt, va_list ap)
{
    char small[1024];
    va_list aq;
    va_copy(aq, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    char *big = n >= (int)sizeof small ? malloc((size_t)n + 1) : NULL;
    if (big) vsnprintf(big, (size_t)n + 1, fmt, aq);
    va_end(aq);
    print_escaped(prefix, big ? big : small);
    free(big);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_escaped("tunegan: ", fmt, ap);
    va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_escaped("tunegan: warning: ", fmt, ap);
    va_end(ap);
}

static void log_to_stderr(void *user, tg_log_level level, const char *msg)
{
    (void)user;
    if (level == TG_LOG_ERROR || level == TG_LOG_INFO)
        print_escaped("tunegan: ", msg);
    else if (level == TG_LOG_WARN)
        print_escaped("tunegan: warning: ", msg);
}

tg_logger cli_logger(void)
{
    tg_logger l = {log_to_stderr, NULL};
    return l;
}

bool cli_stderr_is_tty(void) { return isatty(fileno(stderr)) != 0; }

static void print_default(FILE *fp, const cli_opt *o)
{
    switch (o->kind) {
    case CLI_FLAG: break;
    case CLI_INT:
    case CLI_SIZE: fprintf(fp, " (default %d)", *(int *)o->dst); break;
    case CLI_U64: fprintf(fp, " (default %llu)", (unsigned long long)*(uint64_t *)o->dst); break;
    case CLI_DOUBLE: fprintf(fp, " (default %g)", *(double *)o->dst); break;
    case CLI_STRING: {
        const char *s = *(const char **)o->dst;
        if (s) fprintf(fp, " (default %s)", s);
        break;
    }
    }
}

void cli_usage(FILE *fp, const cli_command_info *info, const cli_opt *opts)
{
    fprintf(fp, "usage: tunegan %s %s\n\n%s\n\noptions:\n", info->name, info->args, info->summary);
    for (const cli_opt *o = opts; o && o->name; o++) {
        char left[64];
        if (o->short_name)
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name,
                     o->metavar ? " " : "", o->metavar ? o->metavar : "");
        else
            snprintf(left, sizeof left, "    --%s%s%s", o->name, o->metavar ? " " : "",
                     o->metavar ? o->metavar : "");
        fprintf(fp, "  %-28s %s", left, o->help);
        print_default(fp, o);
        fputc('\n', fp);
    }
    fprintf(fp, "  %-28s %s\n", "-h, --help", "show this help and exit");
}

/* A bad command line: one line saying what is wrong and where to look,
 * "tunegan: generate: --num must be ... (see 'tunegan generate --help')";
 * the whole usage would bury it. Returns 1. */
static int usage_error(const cli_command_info *info, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int usage_error(const cli_command_info *info, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cli_error("%s: %s (see 'tunegan %s --help')", info->name, msg, info->name);
    return 1;
}

static bool in_range(const cli_opt *o, double v)
{
    if (o->min == 0 && o->max == 0) return true;
    return v >= o->min && v <= o->max;
}

static int set_value(const cli_command_info *info, const cli_opt *o, const char *val)
{
    char *end = NULL;
    errno = 0;
    switch (o->kind) {
    case CLI_FLAG: *(bool *)o->dst = true; return 0;
    case CLI_STRING:
        if (!val[0]) return usage_error(info, "--%s is empty: give %s", o->name, o->metavar ? o->metavar : "a value");
        *(const char **)o->dst = val;
        return 0;
    case CLI_INT:
    case CLI_SIZE: {
        long v = strtol(val, &end, 10);
        if (errno || end == val || *end || v < -2147483647L || v > 2147483647L) break;
        if (o->kind == CLI_SIZE && v == 0)
            return usage_error(info, "--%s 0 is not a size: give 1 to %g, or -1 for the preset's", o->name, o->max);
        if (!in_range(o, (double)v)) goto range;
        long cores = strcmp(o->name, "threads") == 0 ? sysconf(_SC_NPROCESSORS_ONLN) : 0;
        if (cores > 0 && v > cores) { /* more threads than cores only wait for each other */
            cli_warn("%s: --threads %ld is more than the %ld cores here: using %ld", info->name, v, cores, cores);
            v = cores;
        }
        *(int *)o->dst = (int)v;
        return 0;
    }
    case CLI_U64: {
        if (val[0] == '-') break;
        unsigned long long v = strtoull(val, &end, 10);
        if (errno || end == val || *end) break;
        *(uint64_t *)o->dst = (uint64_t)v;
        return 0;
    }
    case CLI_DOUBLE: {
        double v = strtod(val, &end);
        if (errno || end == val || *end || !isfinite(v)) break;
        if (!in_range(o, v)) goto range;
        *(double *)o->dst = v;
        return 0;
    }
    }
    return usage_error(info, "--%s expects %s, got '%s'", o->name,
                       o->kind == CLI_DOUBLE ? "a number" : "a whole number", val);
range:
    return usage_error(info, "--%s must be between %g and %g, got '%s'", o->name, o->min, o->max, val);
}

static const cli_opt *find_long(const cli_opt *opts, const char *name, size_t len)
{
    for (const cli_opt *o = opts; o && o->name; o++)
        if (strlen(o->name) == len && strncmp(o->name, name, len) == 0) return o;
    return NULL;
}

static const cli_opt *find_short(const cli_opt *opts, char c)
{
    for (const cli_opt *o = opts; o && o->name; o++)
        if (o->short_name == c) return o;
    return NULL;
}

int cli_parse(const cli_command_info *info, const cli_opt *opts, int argc, char **argv,
              const char **pos, int max_pos, int *n_pos)
{
    *n_pos = 0;
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const cli_opt *o = NULL;
        const char *val = NULL;
        if (!only_pos && strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (!only_pos && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)) {
            cli_usage(stdout, info, opts);
            return 2;
        }
        if (!only_pos && a[0] == '-' && a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            o = find_long(opts, a + 2, len);
            if (!o)
                return usage_error(info, "unknown option '%.*s'", (int)(len + 2), a);
            if (eq) {
                if (o->kind == CLI_FLAG)
                    return usage_error(info, "--%s takes no value", o->name);
                val = eq + 1;
            }
        } else if (!only_pos && a[0] == '-' && a[1] && !a[2] && !(a[1] >= '0' && a[1] <= '9')) {
            o = find_short(opts, a[1]);
            if (!o)
                return usage_error(info, "unknown option '%s'", a);
        } else {
            if (*n_pos >= max_pos)
                return usage_error(info, "unexpected argument '%s'", a);
            pos[(*n_pos)++] = a;
            continue;
        }
        if (o->kind != CLI_FLAG && !val) {
            if (i + 1 >= argc)
                return usage_error(info, "--%s needs a value (%s)", o->name,
                                  o->metavar ? o->metavar : "value");
            val = argv[++i];
        }
        if (set_value(info, o, val)) return 1;
    }
    return 0;
}

bool cli_given(int argc, char **argv, const char *long_name, char short_name)
{
    size_t n = strlen(long_name);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) break;
        if (a[0] == '-' && a[1] == '-' && strncmp(a + 2, long_name, n) == 0 && (a[2 + n] == 0 || a[2 + n] == '='))
            return true;
        if (short_name && a[0] == '-' && a[1] == short_name && a[2] == 0) return true;
    }
    return false;
}
