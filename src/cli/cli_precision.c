/*
 * cli_precision.c: --precision auto|fp32|bf16 for the commands that run a
 * model (pretrain, train, generate, eval, score). The choice is made once,
 * before any model is created (nn_set_precision, like the thread count),
 * from the flag and the CPU; auto takes bf16 where the CPU has AVX512-BF16
 * or AMX and the build has oneDNN. The choice and its reason go to stderr.
 * $TUNEGAN_PRECISION changes the default (fp32 runs the reference path
 * everywhere: `TUNEGAN_PRECISION=fp32 ctest`).
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "nn/nn.h"

int cli_precision_start(const char *cmd, const char *name, bool print)
{
    nn_precision want;
    if (nn_precision_parse(name, &want) != TG_OK) {
        cli_error("%s: --precision must be auto, fp32 or bf16, got '%s' (see tunegan %s --help)",
                  cmd, name, cmd);
        return 1;
    }
    char why[256];
    nn_precision got = nn_precision_resolve(want, why, sizeof why);
    if (nn_set_precision(got) != TG_OK) {
        char feat[128];
        cli_error("%s: --precision bf16: no bf16 on this CPU or build (%s); use fp32 or auto", cmd,
                  nn_bf16_info(feat, sizeof feat));
        return 1;
    }
    if (print) fprintf(stderr, "tunegan: %s\n", why);
    return 0;
}

const char *cli_precision_default(void)
{
    const char *env = getenv("TUNEGAN_PRECISION");
    return env && *env ? env : "auto";
}
