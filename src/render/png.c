/* png.c: PNG output shared by the piano roll and the plots: cairo writes the
 * PNG stream into a temporary file that is renamed when complete. */
#include <errno.h>
#include <stdio.h>

#include "core/core.h"
#include "render.h"

#ifdef TG_HAVE_CAIRO
#include <cairo.h>

static cairo_status_t write_chunk(void *closure, const unsigned char *data, unsigned int len)
{
    return fwrite(data, 1, len, (FILE *)closure) == len ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

tg_status render_save_png(void *cairo_surface, const char *png_path, char *err, size_t err_len)
{
    tg_atomic_file f;
    tg_status st = tg_atomic_open(&f, png_path);
    if (st == TG_OK) {
        errno = 0;
        if (cairo_surface_write_to_png_stream(cairo_surface, write_chunk, f.fp) == CAIRO_STATUS_SUCCESS)
            st = tg_atomic_commit(&f);
        else {
            tg_atomic_abort(&f);
            st = TG_ERR_IO;
        }
    }
    if (st != TG_OK) tg_fail(err, err_len, st, "cannot write %s: %s", png_path, tg_status_cause(st));
    return st;
}
#endif
