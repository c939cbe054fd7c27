/*
 * http.c: the studio behind libmicrohttpd (Debian's libmicrohttpd-dev, GNU's
 * small embeddable HTTP server). A thread per connection, so that an audio
 * render or a slow upload never holds up the page's polling; bodies are
 * gathered up to max_upload_bytes (a larger Content-Length is refused before
 * a byte is read, a chunked body past the limit is dropped as it comes);
 * requests become serve_http_request for routes.c.
 *
 * Two checks keep other web pages out of a studio on loopback: a POST must
 * carry the header "X-Tunegan: 1" (a cross-site page cannot send it without
 * a CORS preflight, which is never granted), and on a loopback address the
 * Host header must name loopback (a DNS-rebinding page's host does not).
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "serve.h"

#ifndef TG_HAVE_MICROHTTPD

tg_status serve_start(serve_studio *studio, serve_server **out, char *err, size_t err_len)
{
    snprintf(err, err_len, "this tunegan was built without libmicrohttpd: install libmicrohttpd-dev "
             "(tools/install-deps.sh) and build again");
    return TG_ERR_UNSUPPORTED;
}
int serve_port(const serve_server *srv) { return 0; }
void serve_stop(serve_server *srv) {}

#else
#include <microhttpd.h>

struct serve_server {
    struct MHD_Daemon *daemon;
    serve_studio *studio;
    int port;
    bool loopback;
};

/* What a connection's request gathers across the calls of on_request. */
typedef struct {
    uint8_t *data;
    size_t size, cap;
    bool too_large;
} body_buf;

static tg_status body_append(body_buf *b, const char *data, size_t n, size_t max)
{
    if (b->too_large || b->size + n > max) {
        free(b->data);
        b->data = NULL;
        b->size = b->cap = 0;
        b->too_large = true;
        return TG_ERR_TOO_LARGE;
    }
    if (b->size + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->size + n) cap *= 2;
        uint8_t *p = realloc(b->data, cap);
        if (!p) return TG_ERR_NOMEM;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->size, data, n);
    b->size += n;
    return TG_OK;
}

static const char *query_arg(void *ctx, const char *key)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, key);
}

/* Whether Host names loopback (any port): 127.x, localhost, [::1]. */
static bool host_is_loopback(const char *host)
{
    if (!host) return true; /* HTTP/1.0 clients send none */
    if (strncmp(host, "127.", 4) == 0 || strncmp(host, "[::1]", 5) == 0) return true;
    return strncasecmp(host, "localhost", 9) == 0 && (host[9] == 0 || host[9] == ':');
}

static enum MHD_Result send_reply(struct MHD_Connection *c, serve_reply *r)
{
    struct MHD_Response *resp =
        r->body ? MHD_create_response_from_buffer(r->size, r->body, MHD_RESPMEM_MUST_FREE)
                : MHD_create_response_from_buffer(r->size, (void *)r->static_body, MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(r->body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", r->type);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:");
    if (r->filename[0]) {
        char disp[160];
        snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", r->filename);
        MHD_add_response_header(resp, "Content-Disposition", disp);
    }
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* An error whose message holds no quote or backslash (no escaping needed). */
static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *msg)
{
    serve_reply r;
    memset(&r, 0, sizeof r);
    r.status = status;
    r.type = "application/json";
    r.body = malloc(strlen(msg) + 16);
    if (!r.body) return MHD_NO;
    r.size = (size_t)sprintf((char *)r.body, "{\"error\":\"%s\"}", msg);
    return send_reply(c, &r);
}

static enum MHD_Result send_too_large(serve_server *srv, struct MHD_Connection *c)
{
    char msg[128];
    snprintf(msg, sizeof msg, "the file is larger than the studio takes (%zu MB)",
             srv->studio->opt.max_upload_bytes >> 20);
    return send_error(c, 413, msg);
}

/* The first call of a request: checks that cannot wait for its body (a
 * refusal is queued at once), then the buffer for the body. */
static enum MHD_Result first_call(serve_server *srv, struct MHD_Connection *c, const char *method,
                                  void **con_cls)
{
    if (srv->loopback && !host_is_loopback(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host")))
        return send_error(c, 403, "this studio answers on loopback names only");
    if (strcmp(method, "POST") == 0) {
        const char *mark = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Tunegan");
        if (!mark || strcmp(mark, "1") != 0)
            return send_error(c, 403, "requests that change the studio come from its own page (header X-Tunegan: 1)");
        const char *len = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (len && strtoull(len, NULL, 10) > srv->studio->opt.max_upload_bytes)
            return send_too_large(srv, c);
    }
    body_buf *b = calloc(1, sizeof *b);
    if (!b) return MHD_NO;
    *con_cls = b;
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    serve_server *srv = cls;
    body_buf *b = *con_cls;
    if (!b) return first_call(srv, c, method, con_cls);
    if (*upload_data_size) {
        tg_status st = body_append(b, upload_data, *upload_data_size, srv->studio->opt.max_upload_bytes);
        *upload_data_size = 0;
        return st == TG_ERR_NOMEM ? MHD_NO : MHD_YES;
    }
    if (b->too_large) return send_too_large(srv, c);
    serve_http_request rq = {method, url, query_arg, c, b->data, b->size};
    serve_reply r;
    routes_handle(srv->studio, &rq, &r);
    return send_reply(c, &r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode why)
{
    body_buf *b = *con_cls;
    if (!b) return;
    free(b->data);
    free(b);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    serve_server *srv = cls;
    const tg_logger *lg = &srv->studio->opt.logger;
    if (!lg->fn) return;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n') msg[--n] = 0;
    lg->fn(lg->user, TG_LOG_WARN, msg);
}

/* The address to bind: an IPv4 or IPv6 literal, or "localhost". */
static tg_status parse_host(const char *host, int port, struct sockaddr_storage *sa, bool *v6, bool *loopback)
{
    memset(sa, 0, sizeof *sa);
    struct sockaddr_in *a4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)sa;
    if (strcmp(host, "localhost") == 0) host = "127.0.0.1";
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *v6 = false;
        *loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
        return TG_OK;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *v6 = true;
        *loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
        return TG_OK;
    }
    return TG_ERR_ARG;
}

tg_status serve_start(serve_studio *studio, serve_server **out, char *err, size_t err_len)
{
    const serve_options *o = &studio->opt;
    struct sockaddr_storage sa;
    bool v6;
    serve_server *srv = calloc(1, sizeof *srv);
    if (!srv) return TG_ERR_NOMEM;
    srv->studio = studio;
    if (parse_host(o->host, o->port, &sa, &v6, &srv->loopback) != TG_OK) {
        snprintf(err, err_len, "--host %.100s is not an IP address (e.g. 127.0.0.1, ::1 or 0.0.0.0)", o->host);
        free(srv);
        return TG_ERR_ARG;
    }
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                     (v6 ? MHD_USE_IPv6 : 0);
    srv->daemon = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_request, srv,
                                   MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
                                   MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                   MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
                                   MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->connection_limit,
                                   MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                                   MHD_OPTION_END);
    if (!srv->daemon) {
        snprintf(err, err_len, "cannot listen on %s port %d (in use by another program? try --port)", o->host,
                 o->port);
        free(srv);
        return TG_ERR_IO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : o->port;
    *out = srv;
    return TG_OK;
}

int serve_port(const serve_server *srv) { return srv->port; }

void serve_stop(serve_server *srv)
{
    if (!srv) return;
    MHD_stop_daemon(srv->daemon);
    free(srv);
}
#endif
