/*
 * data.h: the training corpus. data_build() turns folders of MIDI files into
 * one corpus file (tokens of every piece, the tokenizer's config, an index of
 * pieces with their source path and split); data_corpus_open() maps it into
 * memory and validates it; batch functions cut windows for training and
 * evaluation; data_stats() summarises a corpus.
 *
 * Corpus file, version 1, little-endian, written under a temporary name and
 * renamed when complete (tg_atomic_open):
 *   offset size
 *   0      8   magic "TGCORPUS"
 *   8      4   u32 version (1)
 *   12     4   u32 vocabulary size
 *   16     8   u64 number of pieces P
 *   24     8   u64 number of tokens N
 *   32     8   u64 config offset      40  8  u64 config size (bytes, without the NUL)
 *   48     8   u64 index offset (P entries of 24 bytes, below)
 *   56     8   u64 paths offset       64  8  u64 paths size
 *   72     8   u64 tokens offset (N u16 ids, 8-byte aligned)
 *   80     8   u64 file size
 *   88     8   u64 checksum of bytes 96..file size (data_checksum)
 *   96         the config string and a NUL, the index, the paths (NUL-terminated),
 *              the tokens; each part starts on a multiple of 8 bytes
 * Index entry: u64 first token, u32 length (tokens), u32 path offset (in the
 * paths part), u32 path length, u8 split (0 train, 1 valid, 2 test), i8
 * transposition in semitones, u16 zero.
 * Every piece's tokens start with BOS and end with EOS. Pieces are ordered by
 * source path (relative to the folder it was found under; with several
 * folders, equal paths in folder order), then transposition. Files or folders
 * whose name starts with '.' are not read. Files that cannot be used (not
 * MIDI, damaged beyond recovery, no notes, too long for the tokenizer) are
 * skipped: a warning each through the logger, counts in the report.
 *
 * Splits: from a TSV (lines "relative/path<TAB>train|valid|test", "#"
 * comments, blank lines ignored), matched by path relative to the folder given
 * on the command line; when no line of the TSV names a folder (no '/'), by
 * bare file name as well. A TSV line naming no file found is an error (listing
 * the first few) unless allow_missing, and so is a file the TSV does not name;
 * with allow_missing both are warnings and unnamed files take the hash split.
 * Without a TSV: crc32 (the zlib/PNG polynomial) of the relative path, mod 10:
 * 0 test, 1 valid, else train (80/10/10). For a folder of bare names this is
 * the rule ../shared/data/nottingham/split.tsv was made with.
 *
 * Transposition (augmentation) happens at build time and only on the training
 * split: each training piece is stored once as it is and once for every shift
 * in [transpose_lo, transpose_hi] but 0 whose notes (drums aside) all stay in
 * 0..127. Batches then need no knowledge of tokens, and a corpus is the same
 * file whoever reads it; the cost is storage (up to 12 copies of the training
 * split for -5..6).
 */
#ifndef TG_DATA_H
#define TG_DATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tok/tok.h"
#include "tunegan.h"

#define DATA_MAGIC "TGCORPUS"
#define DATA_VERSION 1
#define DATA_HEADER_SIZE 96

typedef enum { DATA_TRAIN = 0, DATA_VALID = 1, DATA_TEST = 2, DATA_SPLITS = 3 } data_split;

/* "train", "valid", "test". */
const char *data_split_name(int split);

/* Error details for messages such as "split.tsv:12: unknown split 'dev'". */
typedef struct {
    char what[512];
} data_error;

/* ------------------------------------------------------------------------ */
/* Building. */

typedef struct {
    tok_config tok;             /* tokenizer (default remi) */
    const char *split_path;     /* TSV of splits; NULL: hash of the relative path */
    bool allow_missing;         /* TSV mismatches are warnings, not errors */
    int transpose_lo, transpose_hi; /* training augmentation, e.g. -5 and 6; 0 0: none */
    int threads;                /* 0: every core */
    size_t max_file_bytes;      /* larger MIDI files are skipped: default 64 MiB */
    tg_logger logger;           /* a line per skipped file, warnings */
    /* called after each file (from any thread, one call at a time) */
    void (*progress)(void *user, size_t done, size_t total);
    void *progress_user;
} data_build_options;

data_build_options data_build_options_default(void);

typedef struct {
    size_t files_found;
    size_t files_read;                 /* tokenized into the corpus */
    size_t files_skipped;
    size_t skipped_by_status[TG_STATUS_COUNT_]; /* why: the reader's or encoder's status */
    size_t skipped_no_notes;           /* read fine but holding no note (not in the above) */
    size_t skipped_unfit;              /* read fine but no piece: only notes the tokenizer leaves
                                        * out (drums), or past a limit of check.c */
    size_t unlisted;                   /* files the TSV does not name (allow_missing) */
    size_t missing;                    /* TSV lines naming no file (allow_missing) */
    size_t pieces[DATA_SPLITS];        /* including transposed copies */
    size_t tokens[DATA_SPLITS];
    size_t transposed;                 /* transposed copies added */
    double seconds;
} data_build_report;

/* Walks dirs recursively for .mid/.midi (any case), tokenizes in parallel and
 * writes the corpus to out_path. Broken files are skipped (logged, counted);
 * missing or empty folders and TSV problems are errors (err says why). */
tg_status data_build(const char *const *dirs, size_t n_dirs, const char *out_path,
                     const data_build_options *opt, data_build_report *report, data_error *err);

/* ------------------------------------------------------------------------ */
/* Whether a score is fit to be a piece (check.c, which says why the limits). */

/* The longest silence a piece may hold (from 0 to its first note, or between
 * notes) and the longest it may last, in seconds. */
#define DATA_MAX_SILENCE_SEC 60.0
#define DATA_MAX_PIECE_SEC 3600.0

typedef struct {
    size_t notes, drum_notes;
    double longest_silence_sec, silence_from_sec;
    double end_sec;                    /* when the last note ends */
} data_check;

/* Measures s (through its tempo maps); TG_ERR_NOMEM. */
tg_status data_check_score(const tg_score *s, data_check *out);
/* Whether the measures are within the limits; if not, why (a phrase such as
 * "no notes" or "a silence of 1000000 s (...)") is written. */
bool data_check_why(const data_check *c, char *why, size_t n);
/* Whether the tokens of a score with notes say more than BOS and EOS; if
 * not, why (its notes are all drums, which the kind of tokenizer leaves out,
 * or some other loss). */
bool data_check_tokens(const data_check *c, size_t n_tokens, const char *kind, char *why, size_t n);

/* crc32 (zlib polynomial) of a string; the split of a relative path by hash. */
uint32_t data_crc32(const void *data, size_t size);
int data_hash_split(const char *relative_path);

/* ------------------------------------------------------------------------ */
/* Reading. */

/* One index entry as stored in the file (24 bytes). */
typedef struct {
    uint64_t offset;    /* first token */
    uint32_t length;    /* tokens */
    uint32_t path_offset;
    uint32_t path_length;
    uint8_t split;
    int8_t transpose;
    uint16_t reserved;
} data_piece;

/* Read the fields. The pointers point into the mapped file; valid until close. */
typedef struct {
    const char *config;        /* tokenizer config string */
    uint32_t version;
    uint32_t vocab_size;
    uint64_t n_pieces;
    uint64_t n_tokens;
    const data_piece *pieces;
    const uint16_t *tokens;
    const char *paths;
    /* per split: the pieces in file order and their token counts */
    uint64_t *split_pieces[DATA_SPLITS];
    uint64_t split_count[DATA_SPLITS];
    uint64_t split_tokens[DATA_SPLITS];
    /* training pieces: cumulative token counts, for drawing windows */
    uint64_t *train_cumulative;
    void *map;
    size_t map_size;
} data_corpus;

/* Maps and validates a corpus: magic (ERR_FORMAT), version (ERR_VERSION),
 * sizes against the file size (truncated: ERR_FORMAT), offsets in bounds,
 * checksum, every token below the vocabulary size, every piece's path. */
tg_status data_corpus_open(const char *path, data_corpus **out, data_error *err);
/* The same on a corpus already in memory (size bytes at data, which must be
 * 8-byte aligned and outlive the corpus); name is used in messages. */
tg_status data_corpus_open_memory(const void *data, size_t size, const char *name, data_corpus **out,
                                  data_error *err);
void data_corpus_close(data_corpus *c);
/* The source path of piece i (relative to its folder). */
const char *data_corpus_path(const data_corpus *c, uint64_t i);
/* The checksum stored in the header: FNV-1a 64 of the bytes, continued from h
 * (start with DATA_CHECKSUM_INIT). */
#define DATA_CHECKSUM_INIT 14695981039346656037ull
uint64_t data_checksum(uint64_t h, const void *data, size_t size);

/* ------------------------------------------------------------------------ */
/* Batches: pure functions of (corpus, rng); token ids as int32, targets -1
 * where nothing is to be predicted (padding). */

#define DATA_IGNORE (-1)

/* B training windows of T inputs and T targets (the window of T+1 tokens,
 * shifted by one). A piece is drawn with probability proportional to its
 * length in tokens, then a start uniformly among those that fit (0 when the
 * piece is shorter than T+1: the window is padded with PAD, targets -1), so a
 * window from a piece's start begins with BOS. ERR_ARG when the corpus has no
 * training piece. */
tg_status data_train_batch(const data_corpus *c, tg_rng *rng, int B, int T, int32_t *inputs,
                           int32_t *targets);
/* The same windows (the same draws), each moved back to start at the
 * nearest bar_token at or before its start (the piece's start when none):
 * for bar attention, whose windows must hold whole bars. */
tg_status data_train_batch_bars(const data_corpus *c, tg_rng *rng, int B, int T, int bar_token,
                                int32_t *inputs, int32_t *targets);
/* Cuts the padding every row of a (B,T) batch has at its end: returns
 * T_eff, one past the last target that is not DATA_IGNORE in any row (at
 * least 1), and repacks inputs and targets as (B,T_eff) in place. Causal
 * models give the same losses on the cut batch, in less time: whole pieces
 * in long windows are mostly padding. fill >= 0: the PAD inputs left at the
 * end of the shorter rows become fill; no loss depends on them (causal, no
 * target), and for bar attention a Bar there makes each padding position a
 * one-token bar that reads one key, not all the padding before it. */
int data_trim_padding(int32_t *inputs, int32_t *targets, int B, int T, int fill);

/* Deterministic evaluation windows over one split: pieces in file order, each
 * cut into consecutive windows of T inputs starting at 0, T, 2T, ...; every
 * token but each piece's BOS is a target exactly once (the last window of a
 * piece is padded). */
typedef struct {
    const data_corpus *c;
    int split;
    int T;
    uint64_t piece;  /* index in split_pieces */
    uint64_t start;  /* input start within the piece */
} data_eval_iter;

data_eval_iter data_eval_begin(const data_corpus *c, int split, int T);
/* Fills up to B rows; *rows gets how many (0 at the end). */
void data_eval_next(data_eval_iter *it, int B, int32_t *inputs, int32_t *targets, int *rows);
/* Number of windows of a split. */
uint64_t data_eval_window_count(const data_corpus *c, int split, int T);

/* ------------------------------------------------------------------------ */
/* Statistics. */

#define DATA_TOP_TOKENS 10

typedef struct {
    uint64_t pieces[DATA_SPLITS], tokens[DATA_SPLITS];
    uint64_t transposed_pieces;   /* pieces with a transposition != 0 */
    uint64_t length_min, length_p10, length_p50, length_p90, length_p99, length_max;
    double length_mean;
    int pitch_min, pitch_max;     /* over pitched tokens (drums aside); -1 when none */
    int top_id[DATA_TOP_TOKENS];
    uint64_t top_count[DATA_TOP_TOKENS];
    int n_top;
} data_stats;

/* A piece to write: its tokens, its split, its transposition, and the index
 * of its source's path among the paths given (pieces of one file share it). */
typedef struct {
    const uint16_t *ids;
    uint32_t n;
    uint32_t path;
    uint8_t split;       /* data_split */
    int8_t transpose;
} data_out_piece;

/* A corpus written piece by piece (corpus_write.c): tokens go to an unnamed
 * temporary file beside out_path as they are put, in any order, so memory
 * holds only the index and the paths; data_writer_finish writes the corpus
 * (the format above, pieces in the order they were added) under a temporary
 * name and renames it into place. config is the tokenizer's configuration
 * string. Nothing appears at out_path before finish; finish and abort free
 * the writer. A failure is kept and returned again by every later call,
 * finish included (with its message). Not thread-safe: callers lock. */
typedef struct data_writer data_writer;
tg_status data_writer_open(const char *out_path, const char *config, int vocab_size,
                           data_writer **out, data_error *err);
/* The next source path; *index gets the number pieces name it by (0, 1, ...). */
tg_status data_writer_add_path(data_writer *w, const char *path, uint32_t *index);
/* Appends a piece (its tokens put, then added); its path must have been added. */
tg_status data_writer_add_piece(data_writer *w, const data_out_piece *piece);
/* The same in two steps, for tokens made out of order: put stores n tokens and
 * says where (*at), add_stored appends the piece whose tokens are there
 * (piece->ids is not read). */
tg_status data_writer_put_tokens(data_writer *w, const uint16_t *ids, uint32_t n, uint64_t *at);
tg_status data_writer_add_stored(data_writer *w, uint64_t at, const data_out_piece *piece);
tg_status data_writer_finish(data_writer *w, data_error *err);
void data_writer_abort(data_writer *w); /* accepts NULL */

/* The same for pieces already in memory: paths in the order they are stored.
 * Tools that make corpora of their own write through it (tools/oracle.c). */
tg_status data_write_corpus(const char *out_path, const char *config, int vocab_size, const char *const *paths,
                            size_t n_paths, const data_out_piece *pieces, size_t n_pieces, data_error *err);

/* Statistics of a corpus; tok must be the corpus's tokenizer. */
tg_status data_compute_stats(const data_corpus *c, const tok_tokenizer *tok, data_stats *st);

/* ------------------------------------------------------------------------ */
/* Internals shared by the files of src/data. */

/* A MIDI file found by the walk. */
typedef struct {
    char *rel;      /* path relative to its folder, '/'-separated */
    char *full;     /* path to open */
    size_t root;    /* index of its folder among those given */
    int split;      /* data_split; -1 until assigned */
} data_file;

/* Assigns every file its split (TSV or hash); TSV problems are errors unless
 * opt->allow_missing. */
tg_status data_assign_splits(data_file *files, size_t n, const data_build_options *opt,
                             data_build_report *rep, data_error *err);
/* Formats err->what (err may be NULL). */
void data_fail(data_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool data_host_little_endian(void);

#endif /* TG_DATA_H */
