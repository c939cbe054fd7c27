/* test_core.c: status table, RNG streams, atomic file writes. */
#include <unistd.h>

#include "core/core.h"
#include "test.h"

static void test_status(void)
{
    CHECK_STR(tg_status_str(TG_OK), "success");
    CHECK_STR(tg_status_name(TG_ERR_NOMEM), "ERR_NOMEM");
    CHECK_STR(tg_status_str((tg_status)9999), "unknown status");
    for (int s = 0; s < TG_STATUS_COUNT_; s++) CHECK(strlen(tg_status_str((tg_status)s)) > 0);
}

static void test_rng(void)
{
    tg_rng a, b;
    tg_rng_seed(&a, 42);
    tg_rng_seed(&b, 42);
    for (int i = 0; i < 100; i++) CHECK(tg_rng_u64(&a) == tg_rng_u64(&b));
    tg_rng_seed(&b, 43);
    CHECK(tg_rng_u64(&a) != tg_rng_u64(&b));
    /* uniform floats: mean near 1/2; below(n) stays in range and hits every value */
    double sum = 0;
    int seen[7] = {0};
    for (int i = 0; i < 100000; i++) {
        float f = tg_rng_float(&a);
        CHECK(f >= 0.0f && f < 1.0f);
        sum += f;
        uint32_t k = tg_rng_below(&a, 7);
        CHECK(k < 7);
        seen[k < 7 ? k : 0]++;
    }
    CHECK_NEAR(sum / 100000, 0.5, 0.01);
    for (int k = 0; k < 7; k++) CHECK_NEAR(seen[k] / 100000.0, 1.0 / 7, 0.01);
    double m = 0, v = 0;
    for (int i = 0; i < 100000; i++) {
        double x = tg_rng_normal(&a);
        m += x;
        v += x * x;
    }
    CHECK_NEAR(m / 100000, 0.0, 0.02);
    CHECK_NEAR(v / 100000, 1.0, 0.02);
}

static void test_files(void)
{
    char dir[] = "/tmp/tg_test_core_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/out.bin", dir);
    CHECK_OK(tg_file_write_all(path, "hello", 5));
    uint8_t *data;
    size_t n;
    CHECK_OK(tg_file_read_all(path, 100, &data, &n));
    CHECK_INT(n, 5);
    CHECK(memcmp(data, "hello", 5) == 0);
    free(data);
    CHECK_STATUS(tg_file_read_all(path, 4, &data, &n), TG_ERR_TOO_LARGE);
    CHECK_STATUS(tg_file_read_all("/nonexistent/x", 100, &data, &n), TG_ERR_NOT_FOUND);
    /* an aborted write leaves the old file and no temporary behind */
    tg_atomic_file f;
    CHECK_OK(tg_atomic_open(&f, path));
    fputs("partial", f.fp);
    tg_atomic_abort(&f);
    CHECK_OK(tg_file_read_all(path, 100, &data, &n));
    CHECK(n == 5 && memcmp(data, "hello", 5) == 0);
    free(data);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CHECK(access(tmp, F_OK) != 0);
    CHECK_STATUS(tg_file_write_all("/nonexistent/dir/x", "a", 1), TG_ERR_NOT_FOUND);
    remove(path);
    rmdir(dir);
}

/* Log lines with a failing step's numbers stay JSON; strings are left alone. */
static void test_json_nonfinite(void)
{
    char out[128];
    tg_json_null_nonfinite("{\"loss\":nan,\"n\":-nan,\"g\":inf,\"h\":-inf}", out, sizeof out);
    CHECK(strcmp(out, "{\"loss\":null,\"n\":null,\"g\":null,\"h\":null}") == 0);
    tg_json_null_nonfinite("{\"a\":[1,nan],\"s\":\"inf,nan\",\"x\":0.5,\"infx\":2}", out, sizeof out);
    CHECK(strcmp(out, "{\"a\":[1,null],\"s\":\"inf,nan\",\"x\":0.5,\"infx\":2}") == 0);
    tg_json_null_nonfinite("{\"loss\":nan}", out, 8); /* cut short, still terminated */
    CHECK(strlen(out) == 7);
}

int main(void)
{
    test_status();
    test_rng();
    test_files();
    test_json_nonfinite();
    return test_finish("test_core");
}
