/*
 * ckpt.h: a checkpoint as one atomic unit (ckpt.c), for pretrain (mle.c)
 * and train (seqgan_run.c). Internal to src/train.
 *
 * A run folder RUN holds
 *   RUN/checkpoints/KIND-NNNNNNN/         a complete checkpoint: every file
 *                                         of one save (KIND "step" for
 *                                         pretrain, "phase" for train)
 *   RUN/checkpoints/KIND-NNNNNNN.tmp.PID/ a save in progress (never read)
 *   RUN/NAME.safetensors                  the newest checkpoint's files,
 *                                         hard links (copies where the file
 *                                         system has no links), so that
 *                                         `generate --model RUN` finds them
 *
 * A save writes every file into the .tmp.PID folder (each file fsynced),
 * fsyncs the folder and renames it to KIND-NNNNNNN: the rename is the commit,
 * so a folder with a final name is complete. Only then are the files linked
 * into RUN (each by a link under a temporary name and a rename, so each one
 * is the old or the new version whatever moment a kill comes) and the older
 * checkpoints removed (renamed to a .tmp name first, so a half-removed one is
 * never taken for complete). A resume reads the newest complete checkpoint
 * and nothing in RUN itself, then links its files into RUN again. While a
 * save runs the disk holds two checkpoints. Because RUN's files are links,
 * replace them by renaming, never by writing into them.
 *
 * Leftovers of a kill (KIND-NNNNNNN.tmp.PID folders, NAME.tmp.PID files) are
 * removed when the next run opens the folder, those whose PID is not a live
 * process: a second process writing into the same folder keeps its own (a
 * PID reused since by an unrelated process keeps its leftover until a later
 * run; it is never read).
 *
 * Test hooks (environment, for tests/test_kill_resume.sh only): a save passes
 * "points" after each file, after the commit, after each file linked into
 * RUN and after the older checkpoints are gone. TG_TEST_CKPT_PAUSE_MS=N
 * sleeps N ms at each point (to widen the window a random kill can hit);
 * TG_TEST_CKPT_KILL_AT=N raises SIGKILL at the N-th point (1-based) of the
 * first save of the process that gets there.
 */
#ifndef TG_CKPT_H
#define TG_CKPT_H

#include <stddef.h>

#include "tunegan.h"

typedef struct {
    char run_dir[1024];
    char name[64];                       /* KIND-NNNNNNN */
    char tmp_dir[1280];                  /* RUN/checkpoints/NAME.tmp.PID */
    char path[1400];                     /* the last path from ckpt_file */
    int n_files;                         /* files asked for so far */
    int points;                          /* test points passed */
    long pause_ms;                       /* TG_TEST_CKPT_PAUSE_MS (0: off) */
    long kill_at;                        /* TG_TEST_CKPT_KILL_AT (0: off) */
} ckpt_writer;

/* Starts the save of checkpoint NUMBER of KIND in RUN: makes the folder
 * RUN/checkpoints/KIND-NNNNNNN.tmp.PID. TG_ERR_IO. */
tg_status ckpt_begin(ckpt_writer *w, const char *run_dir, const char *kind, long number);
/* The path to write the checkpoint's file NAME to (a plain name such as
 * "model.safetensors"); valid until the next call. */
const char *ckpt_file(ckpt_writer *w, const char *name);
/* Ends the save: with s == TG_OK commits it (and links its files into RUN,
 * removes the older checkpoints), otherwise removes the temporary folder.
 * Returns s, or the commit's failure. */
tg_status ckpt_end(ckpt_writer *w, tg_status s);

/* The newest complete checkpoint of KIND (NULL: any kind) in RUN: its folder
 * into dir (n bytes). TG_ERR_NOT_FOUND when there is none. */
tg_status ckpt_newest(const char *run_dir, const char *kind, char *dir, size_t n);

/* Where a resumed run reads its files: the newest complete checkpoint of
 * KIND, whose files are linked into RUN again (a kill may have come while
 * they were being linked); else RUN itself when RUN/model.safetensors exists
 * (a run folder from before checkpoint folders). TG_ERR_NOT_FOUND when there
 * is neither: the run was killed before its first checkpoint. TG_ERR_IO. */
tg_status ckpt_resume_dir(const char *run_dir, const char *kind, char *dir, size_t n);

/* TG_ERR_ARG with "RUN already holds a run: pass --resume ..." when RUN
 * has a complete checkpoint or model.safetensors (a fresh run would mix
 * with it). */
tg_status ckpt_refuse_existing(const char *run_dir, char *err, size_t err_len);

/* Removes the leftovers of killed saves in RUN and RUN/checkpoints (see
 * above); returns how many. */
int ckpt_clean_stale(const char *run_dir);

#endif /* TG_CKPT_H */
