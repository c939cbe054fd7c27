/* test_safetensors.c: safetensors round trip, and every kind of damaged file refused with a reason. */
#include <unistd.h>

#include "core/core.h"
#include "safetensors/safetensors.h"
#include "test.h"

static char dir[64];

static const char *tmp_path(const char *name)
{
    static char p[256];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return p;
}

static void test_round_trip(void)
{
    float w[6] = {1, 2, 3, 4, 5, 6};
    float b[3] = {-1, 0.5f, 1e-30f};
    int64_t step = 1234567890123LL;
    uint8_t bytes[3] = {7, 8, 9};
    st_tensor t[4] = {
        {"layer.weight", ST_F32, 2, {2, 3}, w},
        {"layer.bias", ST_F32, 1, {3}, b},
        {"step", ST_I64, 0, {0}, &step},
        {"odd", ST_U8, 1, {3}, bytes},
    };
    st_meta meta[2] = {{"config", "{\"d_model\":8}"}, {"tokenizer", "remi \"quoted\"\n"}};
    const char *path = tmp_path("ok.safetensors");
    CHECK_OK(st_write(path, t, 4, meta, 2));
    st_file *f;
    char err[256] = "";
    CHECK_OK(st_open(path, &f, err, sizeof err));
    if (!f) return;
    CHECK_INT(st_count(f), 4);
    const st_tensor *r = st_find(f, "layer.weight");
    CHECK(r != NULL);
    if (r) {
        CHECK_INT(r->ndim, 2);
        CHECK_INT(r->shape[1], 3);
        CHECK(memcmp(r->data, w, sizeof w) == 0);
    }
    r = st_find(f, "step");
    CHECK(r && r->ndim == 0 && st_tensor_numel(r) == 1);
    if (r) {
        int64_t got;
        memcpy(&got, r->data, 8);
        CHECK(got == step);
    }
    r = st_find(f, "odd");
    CHECK(r && memcmp(r->data, bytes, 3) == 0);
    CHECK_STR(st_meta_get(f, "tokenizer"), "remi \"quoted\"\n");
    CHECK(st_meta_get(f, "missing") == NULL);
    CHECK(st_find(f, "nope") == NULL);
    st_close(f);
}

/* Writes a file from a literal header and n data bytes, then expects st_open to refuse it. */
static void expect_refused(const char *header, size_t data_bytes, const char *want_in_err)
{
    size_t hl = strlen(header);
    size_t n = 8 + hl + data_bytes;
    uint8_t *buf = calloc(1, n);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    const char *path = tmp_path("bad.safetensors");
    CHECK_OK(tg_file_write_all(path, buf, n));
    free(buf);
    st_file *f = NULL;
    char err[256] = "";
    tg_status s = st_open(path, &f, err, sizeof err);
    CHECK(s != TG_OK);
    CHECK(f == NULL);
    if (!strstr(err, want_in_err)) TEST_FAIL_("error '%s' does not mention '%s'", err, want_in_err);
    st_close(f);
}

static void test_damaged(void)
{
    expect_refused("not json", 0, "not a JSON object");
    expect_refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "outside");
    expect_refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs 12 bytes");
    expect_refused("{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "dtype");
    expect_refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                   "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "overlaps");
    expect_refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "hole");
    expect_refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 6, "trailing");
    expect_refused("{\"__metadata__\":{\"k\":1}}", 0, "not a string");
    /* two __metadata__ objects: the second once wrote past the first's entries (fuzz_safetensors) */
    expect_refused("{\"__metadata__\":{\"a\":\"1\"},\"__metadata__\":{\"b\":\"2\",\"c\":\"3\"}}", 0,
                   "appears twice");
    expect_refused("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "dimension");

    /* a header length larger than the file: a text file, or a truncated checkpoint */
    const char *path = tmp_path("text.safetensors");
    CHECK_OK(tg_file_write_all(path, "hello world, not a model", 24));
    st_file *f = NULL;
    char err[256] = "";
    CHECK_STATUS(st_open(path, &f, err, sizeof err), TG_ERR_FORMAT);
    CHECK(strstr(err, "exceeds the file") != NULL);
    CHECK_OK(tg_file_write_all(path, "abc", 3));
    CHECK_STATUS(st_open(path, &f, err, sizeof err), TG_ERR_FORMAT);
    CHECK(strstr(err, "too short") != NULL);
    CHECK_STATUS(st_open(tmp_path("missing"), &f, err, sizeof err), TG_ERR_NOT_FOUND);

    /* truncating a good file anywhere is refused, never read past the end */
    float w[16] = {0};
    st_tensor t = {"w", ST_F32, 2, {4, 4}, w};
    st_meta m = {"k", "v"};
    const char *good = tmp_path("good.safetensors");
    CHECK_OK(st_write(good, &t, 1, &m, 1));
    uint8_t *data;
    size_t n;
    CHECK_OK(tg_file_read_all(good, 1 << 20, &data, &n));
    for (size_t cut = 0; cut < n; cut++) {
        CHECK_OK(tg_file_write_all(path, data, cut));
        CHECK(st_open(path, &f, NULL, 0) != TG_OK);
    }
    free(data);
}

/* An empty tensor whose other dimensions multiply past int64 has 0 elements
 * (st_tensor_numel overflowed, undefined behaviour: found reading the code for
 * fuzz_safetensors, confirmed by it under UBSan; the input is
 * fuzz/corpus/safetensors/ub_empty_tensor_huge_dims). The memory entry point
 * refuses a short file as st_open does. */
static void test_empty_huge(void)
{
    const char *header = "{\"t\":{\"dtype\":\"F32\",\"shape\":[2147483647,2147483647,2147483647,0],"
                         "\"data_offsets\":[0,0]}}";
    size_t hl = strlen(header);
    uint8_t *buf = calloc(1, 8 + hl);
    for (int i = 0; i < 8; i++) buf[i] = (uint8_t)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    st_file *f = NULL;
    char err[256] = "";
    CHECK_OK(st_open_memory(buf, 8 + hl, &f, err, sizeof err));
    CHECK_INT(st_tensor_numel(st_find(f, "t")), 0);
    CHECK_INT(st_tensor_bytes(st_find(f, "t")), 0);
    st_close(f);
    CHECK_STATUS(st_open_memory(buf, 7, &f, err, sizeof err), TG_ERR_FORMAT);
    CHECK(f == NULL && strstr(err, "too short") != NULL);
    free(buf);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/tg_test_safetensors_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    test_round_trip();
    test_damaged();
    test_empty_huge();
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    return test_finish("test_safetensors");
}
