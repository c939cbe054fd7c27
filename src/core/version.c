/* version.c: the version string and the optional dependencies compiled in. */
#include "tunegan.h"

const char *tg_version(void) { return TG_VERSION_STRING; }

const char *tg_build_features(void)
{
    return ""
#ifdef TG_HAVE_OPENBLAS
           "openblas "
#endif
#ifdef TG_HAVE_OPENMP
           "openmp "
#endif
#ifdef TG_HAVE_FLUIDSYNTH
           "fluidsynth "
#endif
#ifdef TG_HAVE_CAIRO
           "cairo "
#endif
#ifdef TG_HAVE_MPI
           "mpi "
#endif
#ifdef TG_HAVE_MICROHTTPD
           "microhttpd "
#endif
#ifdef TG_HAVE_DNNL
           "dnnl "
#endif
        ;
}
