/*
 * model.h: the Transformer generator (decoder-only language model over
 * tokens, Music Transformer) and discriminator (encoder with a classification
 * head, as in TTS-GAN), built from the kernels of src/nn, with their
 * parameters, activations, optimizer state and safetensors checkpoints.
 *
 * Architecture (pre-LayerNorm, GPT-2 style), per sequence of T tokens:
 *   x = wte[tok] (+ wpe[t] with absolute positions); x = dropout(x)
 *   per block:  x += dropout(proj(attention(qkv(ln1(x)))))
 *               x += dropout(fc2(gelu(fc(ln2(x)))))
 *   h = lnf(x)
 *   generator:     logits (B,T,V) = h wte^T (the LM head is TIED to the token
 *                  embedding: no separate output matrix), softmax cross-entropy
 *   discriminator: p = mean of h over the sequence's first lengths[b]
 *                  positions (C); logit = head.weight . p + head.bias;
 *                  probability of "real" = sigmoid(logit); binary
 *                  cross-entropy against labels.
 * Attention is causal in the generator, bidirectional (with key padding by
 * lengths) in the discriminator. With relative attention each block has a
 * table of one embedding per head and distance (Music Transformer, Huang et
 * al. 2018, https://arxiv.org/abs/1809.04281) and there is no wpe; with
 * absolute attention there is wpe (T_max,C) and no tables. With fc attention
 * (generator only; Museformer's fine- and coarse-grained bar attention, see
 * src/nn/nn.h) a token attends to its own bar, the bars fc_distances back and
 * the first token of every other earlier bar, bars counted from the Bar
 * tokens (fc_bar_token) of the input, with a clipped table of
 * R = min(T_max, 256) + 64 rows (token distances, then bar distances), so
 * the parameters do not grow with the context. Dropout is applied
 * to the embedding and to both residual branches, not to attention
 * probabilities.
 *
 * Size letters as in src/nn/nn.h: B batch, T time steps (T <= context),
 * C d_model, H heads, D = C/H, F = ff_mult*C, L layers, V vocabulary,
 * R relative-table rows (context for a generator, 2*context-1 for a
 * discriminator).
 *
 * Memory: parameters, gradients and the two AdamW moments are four flat
 * blocks with one layout (a table of named tensors), so the optimizer,
 * clipping and checkpoint I/O are flat loops. Activations live in one arena
 * sized at creation for (max_batch, context); forward and backward never
 * allocate.
 *
 * Threads: the kernels use the process-wide count set by nn_set_threads.
 * Results are bit-for-bit repeatable at a fixed thread count.
 */
#ifndef TG_MODEL_H
#define TG_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"
#include "safetensors/safetensors.h"
#include "nn/nn.h"
#include "tunegan.h"

/* ------------------------------------------------------------------------ */
/* Configuration (params.c) */

typedef enum { MODEL_GENERATOR = 0, MODEL_DISCRIMINATOR = 1 } model_kind;
/* fc: Museformer's fine- and coarse-grained bar attention (src/nn/fcattn.c),
 * generator only: full attention to the own bar and the bars fc_distances
 * back, the opening Bar token of every other earlier bar, with a clipped
 * relative table (exact up to MODEL_FC_NEAR tokens, then per bar). */
typedef enum {
    MODEL_ATTN_RELATIVE = 0,
    MODEL_ATTN_ABSOLUTE = 1,
    MODEL_ATTN_FC = 2,
} model_attention;

/* FC-attention: token distances with their own table row (or the context
 * when shorter), and the default distance set, in bars (Museformer's). */
enum { MODEL_FC_NEAR = 256 };
#define MODEL_FC_DISTANCES_DEFAULT "1,2,4,8,12,16,24,32"

/* Version of the parameter layout and config JSON; "version" in the JSON. */
#define MODEL_FORMAT_VERSION 1
/* Targets equal to this are ignored by the generator's loss (e.g. padding). */
#define MODEL_IGNORE_INDEX (-1)

typedef struct {
    model_kind kind;            /* generator (causal, LM head) or discriminator */
    model_attention attention;  /* relative (default) or absolute positions */
    int vocab_size;             /* V */
    int d_model;                /* C, divisible by n_heads */
    int n_layers;               /* L */
    int n_heads;                /* H */
    int context;                /* T_max: the longest sequence */
    int ff_mult;                /* F = ff_mult * C (4) */
    float dropout;              /* 0 <= p < 1 (0.1) */
    /* fc attention only (ignored by the other kinds): */
    uint64_t fc_distances;      /* bit d: bars d back seen in full, d in 1..63 */
    int fc_bar_token;           /* the tokenizer's Bar id (tok_bar_id), -1 unset */
} model_config;

/* The tiny generator preset with vocab_size 0 (the caller sets it from the
 * tokenizer). */
model_config model_config_default(void);
/* Presets of the generator: "tiny" (C 128, L 2, H 4, T 128), "small" (C 256,
 * L 4, H 4, T 256), "base" (C 512, L 6, H 8, T 512); ff_mult 4, dropout 0.1,
 * relative attention. Writes the preset into *cfg, keeping cfg->kind and
 * cfg->vocab_size; TG_ERR_ARG for an unknown name. */
tg_status model_config_preset(const char *name, model_config *cfg);
/* Checks every field; on failure writes a reason to why (may be NULL), e.g.
 * "d_model 100 is not divisible by n_heads 8". */
tg_status model_config_check(const model_config *cfg, char *why, size_t why_size);
/* "generator" / "discriminator", "relative" / "absolute" / "fc". */
const char *model_kind_name(model_kind kind);
const char *model_attention_name(model_attention a);
tg_status model_attention_parse(const char *name, model_attention *a);
/* "1,2,4" <-> the bit set of fc_distances: increasing, each in 1..63;
 * TG_ERR_ARG with a reason in why otherwise. Formatting: buf of 200 bytes. */
tg_status model_fc_distances_parse(const char *text, uint64_t *mask, char *why, size_t why_size);
void model_fc_distances_format(uint64_t mask, char *buf, size_t size);
/* Token distances with their own row in an fc table: min(context, MODEL_FC_NEAR). */
int model_fc_near(const model_config *cfg);
/* The config as one JSON object (checkpoint metadata), e.g.
 * {"version":1,"kind":"generator","attention":"relative","vocab_size":577,
 *  "d_model":256,"n_layers":4,"n_heads":4,"context":256,"ff_mult":4,
 *  "dropout":0.1}; fc adds "fc_distances":"1,2,4" and "fc_bar_token":4.
 * TG_ERR_TOO_LARGE when buf is too small (512 bytes do). */
tg_status model_config_to_json(const model_config *cfg, char *buf, size_t size);
/* Parses that JSON: every key required, unknown keys refused, then checked
 * with model_config_check; on failure writes a reason to why. */
tg_status model_config_from_json(const char *json, model_config *cfg, char *why, size_t why_size);
/* Rows of each relative table: context (generator) or 2*context-1;
 * fc: model_fc_near + NN_FC_BAR_ROWS. */
int model_rel_rows(const model_config *cfg);

/* ------------------------------------------------------------------------ */
/* Parameters: named pointers into one flat block. The same struct type
 * describes the gradients (same offsets into the gradient block). Shapes and
 * the names of the PyTorch counterparts (tools/torch_ref.py) are given next
 * to each pointer; "l" is the block index. */

typedef struct {
    float *ln1_w;   /* (C)      blocks.l.ln1.weight */
    float *ln1_b;   /* (C)      blocks.l.ln1.bias */
    float *qkv_w;   /* (3C,C)   blocks.l.attn.qkv.weight  (rows: q, then k, then v) */
    float *qkv_b;   /* (3C)     blocks.l.attn.qkv.bias */
    float *rel;     /* (H,R,D)  blocks.l.attn.rel         (relative attention only, else NULL) */
    float *proj_w;  /* (C,C)    blocks.l.attn.proj.weight */
    float *proj_b;  /* (C)      blocks.l.attn.proj.bias */
    float *ln2_w;   /* (C)      blocks.l.ln2.weight */
    float *ln2_b;   /* (C)      blocks.l.ln2.bias */
    float *fc_w;    /* (F,C)    blocks.l.mlp.fc.weight */
    float *fc_b;    /* (F)      blocks.l.mlp.fc.bias */
    float *fc2_w;   /* (C,F)    blocks.l.mlp.fc2.weight */
    float *fc2_b;   /* (C)      blocks.l.mlp.fc2.bias */
} model_block_params;

typedef struct {
    float *wte;     /* (V,C)      wte.weight (also the generator's output matrix) */
    float *wpe;     /* (T_max,C)  wpe.weight (absolute attention only, else NULL) */
    model_block_params *blocks; /* L of them */
    float *lnf_w;   /* (C)        lnf.weight */
    float *lnf_b;   /* (C)        lnf.bias */
    float *head_w;  /* (1,C)      head.weight (discriminator only, else NULL) */
    float *head_b;  /* (1)        head.bias   (discriminator only, else NULL) */
} model_params;

/* How a tensor is initialised (model_init). */
typedef enum {
    MODEL_INIT_NORMAL,    /* N(0, 0.02) */
    MODEL_INIT_RESIDUAL,  /* N(0, 0.02 / sqrt(2L)): projections into the residual stream */
    MODEL_INIT_ZERO,      /* biases */
    MODEL_INIT_ONE,       /* LayerNorm weights */
} model_init_kind;

/* One row of the parameter table. */
typedef struct {
    char name[48];        /* the PyTorch name, e.g. "blocks.0.attn.qkv.weight" */
    int ndim;
    int64_t shape[3];
    size_t offset;        /* in floats, into the parameter (and gradient, m, v) block */
    size_t numel;
    int decay;            /* 1: AdamW weight decay (weights of linear layers only) */
    model_init_kind init;
} model_tensor;

/* ------------------------------------------------------------------------ */
/* The model object (model.c, transformer.c) */

typedef struct tg_model tg_model;

/* Creates a model (parameters zero until model_init or a load) with an
 * activation arena for batches of up to max_batch sequences of up to
 * cfg->context tokens. Checks the config (TG_ERR_ARG); TG_ERR_NOMEM. */
tg_status model_create(const model_config *cfg, int max_batch, tg_model **out);
void model_free(tg_model *m); /* accepts NULL */

/* Draws every parameter from rng in table order (see model_init_kind);
 * relative tables and embeddings N(0, 0.02). Zeroes gradients and moments. */
void model_init(tg_model *m, tg_rng *rng);

const model_config *model_get_config(const tg_model *m);
int model_max_batch(const tg_model *m);
size_t model_param_count(const tg_model *m);
/* Bytes of the activation arena (allocated once at creation). */
size_t model_arena_bytes(const tg_model *m);
/* Most arena bytes handed out so far (constant once a step of the largest
 * shape has run: forward and backward reuse the same pieces). */
size_t model_arena_high_water(const tg_model *m);
/* Bytes of parameters, gradients and AdamW moments (4 floats per parameter). */
size_t model_state_bytes(const tg_model *m);

/* The parameter table; pointers stay valid until model_free. */
size_t model_tensor_count(const tg_model *m);
const model_tensor *model_tensor_at(const tg_model *m, size_t i);
const model_tensor *model_tensor_find(const tg_model *m, const char *name);
/* Named pointers into the parameter and gradient blocks (for the sampler's
 * own forward pass with a KV cache, and for tests). */
const model_params *model_get_params(const tg_model *m);
const model_params *model_get_grads(const tg_model *m);
/* The flat blocks, model_param_count() floats each. */
float *model_param_data(tg_model *m);
float *model_grad_data(tg_model *m);
float *model_adam_m(tg_model *m);
float *model_adam_v(tg_model *m);

/* Generator. tokens (B,T) in [0,V); targets (B,T) in [0,V) or
 * MODEL_IGNORE_INDEX, or NULL for logits only; 1 <= B <= max_batch,
 * 1 <= T <= context. dropout_rng: dropout masks are drawn from it (training),
 * NULL for evaluation (no dropout). Returns the mean cross-entropy over the
 * targets not ignored (nats per token; 0 without targets). The inputs are
 * copied: the caller's arrays need not outlive the call. */
float model_lm_forward(tg_model *m, const int *tokens, const int *targets, int B, int T,
                       tg_rng *dropout_rng);
/* Logits (B,T,V) of the last lm forward: valid until the next forward or
 * backward (backward overwrites them with their gradient). */
const float *model_logits(const tg_model *m);
/* Per-position losses (B,T) of the last forward with targets (0 where
 * ignored): -log p(target), i.e. the negative log-probability a policy
 * gradient needs. Valid until the next forward. */
const float *model_losses(const tg_model *m);
/* Number of targets counted in the last mean loss. */
int model_loss_count(const tg_model *m);
/* Gradient of the mean loss of the last lm forward (needs targets), added
 * into the gradients. */
void model_lm_backward(tg_model *m);
/* Gradient of sum over (b,t) of dlosses[b,t] * losses[b,t] (REINFORCE:
 * dlosses = +advantage / count, minimising -A log p), dlosses (B,T); ignored targets get none. */
void model_lm_backward_weighted(tg_model *m, const float *dlosses);

/* Discriminator. tokens (B,T); lengths (B) in [1,T] or NULL (all T): tokens
 * at t >= lengths[b] are padding, masked as keys and left out of the pooling;
 * labels (B) in [0,1] (1 = real) or NULL. Returns the mean binary
 * cross-entropy (0 without labels). */
float model_disc_forward(tg_model *m, const int *tokens, const int *lengths, const float *labels,
                         int B, int T, tg_rng *dropout_rng);
/* Probabilities of "real" (B) and logits (B) of the last disc forward. */
const float *model_disc_probs(const tg_model *m);
const float *model_disc_logits(const tg_model *m);
/* Gradient of the mean BCE of the last disc forward (needs labels). */
void model_disc_backward(tg_model *m);

/* Binary cross-entropy on logits (loss.c), the numerically stable form
 * max(z,0) - z*y + log(1 + exp(-|z|)). losses (N) per element, probs (N) =
 * sigmoid(z) (either may be NULL); returns the mean. */
float model_bce_forward(float *losses, float *probs, const float *logits, const float *labels,
                        int N);
/* dlogits (N) += (sigmoid(z) - y) / N: the gradient of the mean. */
void model_bce_backward(float *dlogits, const float *logits, const float *labels, int N);

/* Optimisation (model.c). */
void model_zero_grad(tg_model *m);
/* Global gradient-norm clipping over all gradients; returns the norm before
 * clipping (max_norm <= 0: the norm only). */
float model_clip_grad(tg_model *m, float max_norm);
/* One AdamW step (step counts from 1): weights of linear layers are decayed
 * (qkv, proj, fc, fc2 and the discriminator's head); embeddings, relative
 * tables, biases and LayerNorm parameters are not. */
void model_adamw_step(tg_model *m, const nn_adamw_hparams *hp, int step);
/* dst's parameters = src's; TG_ERR_SHAPE when the configs differ in shape. */
tg_status model_copy_params(tg_model *dst, const tg_model *src);
/* The same where the two configs may also differ in context, as long as no
 * tensor's shape depends on it (FC-attention's tables do not at contexts of
 * MODEL_FC_NEAR and more; relative and absolute attention size theirs by the
 * context); else TG_ERR_SHAPE. */
tg_status model_copy_params_any_context(tg_model *dst, const tg_model *src);
/* dst = r * dst + (1 - r) * src (SeqGAN's delayed rollout policy). */
tg_status model_lerp_params(tg_model *dst, const tg_model *src, float r);

/* Test hook: 1 makes forward and backward use the naive O(T*T*D) relative
 * attention (nn_attention_naive_*) instead of the skewed one. Allocates its
 * scratch here, outside any step. */
tg_status model_set_naive_attention(tg_model *m, int on);
/* Precision (precision.c). model_create gives a new model the process-wide
 * precision (nn_get_precision); this sets it for one model. bf16: the matrix
 * products of training and decoding read bf16 copies of the weight matrices
 * and round their activations to bf16, summing in fp32; the fp32 parameters
 * stay the master weights (AdamW, clipping, checkpoints). The activation
 * arena is made again for the new size (the last forward's activations are
 * gone). TG_ERR_UNSUPPORTED where bf16 is not available (nothing changed);
 * TG_ERR_NOMEM (the model can then only be freed). */
tg_status model_set_precision(tg_model *m, nn_precision p);
nn_precision model_precision(const tg_model *m);
/* Whoever writes the parameters through their pointers (model_get_params)
 * calls this afterwards, so the bf16 copies are refreshed before next use;
 * the model's own writers (init, loads, AdamW, copy, lerp, model_param_data)
 * do it themselves. */
void model_weights_changed(tg_model *m);
/* Bytes of the bf16 weight copies (0 for fp32). */
size_t model_bf16_bytes(const tg_model *m);

/* ------------------------------------------------------------------------ */
/* Checkpoints (checkpoint.c), safetensors via src/safetensors/safetensors.h. */

/* Writes every parameter as F32 under its table name, with __metadata__:
 * "format" = "tunegan-model", "config" (model_config_to_json), "tokenizer"
 * (the tokenizer config string; "" when NULL), "step", "seed", then the
 * caller's extra pairs (keys must differ from those). Atomic (temporary name
 * and rename). */
tg_status model_save(const tg_model *m, const char *path, const char *tokenizer, long step,
                     uint64_t seed, const st_meta *extra, size_t n_extra);

/* A copy of a checkpoint's metadata (string pairs). */
typedef struct model_meta model_meta;
const char *model_meta_get(const model_meta *meta, const char *key); /* NULL when absent */
size_t model_meta_count(const model_meta *meta);
const char *model_meta_key(const model_meta *meta, size_t i);
void model_meta_free(model_meta *meta); /* accepts NULL */

/* The checkpoint a user names by a run folder (its model.safetensors) or by
 * the file itself: the path into buf (n bytes, cut to fit). */
void model_checkpoint_path(const char *run_or_file, char *buf, size_t n);

/* Creates a model from a checkpoint: the config from its metadata, the
 * weights checked name by name and shape by shape. meta_out (may be NULL)
 * receives a copy of the metadata. On failure err says what is wrong and how
 * to fix it, starting with the path. */
tg_status model_load(const char *path, int max_batch, tg_model **out, model_meta **meta_out,
                     char *err, size_t err_len);
/* Loads a checkpoint's weights into an existing model (e.g. one made from
 * command-line flags). Every tensor of the model must be present with its
 * shape and dtype F32, and no other tensor may be; a mismatch names the
 * tensor and both shapes, and, from the file's config, the flags it was
 * trained with. TG_ERR_SHAPE, TG_ERR_FORMAT, TG_ERR_NOT_FOUND, TG_ERR_IO. */
tg_status model_load_weights(tg_model *m, const char *path, char *err, size_t err_len);

/* Optimizer state beside a checkpoint: the two AdamW moments of every tensor
 * ("<name>.exp_avg", "<name>.exp_avg_sq", PyTorch's state names), "step" and
 * "config" in the metadata, then the caller's extra pairs (e.g. RNG states
 * through model_rng_format). Loading checks names and shapes as above and
 * gives back the step and the metadata. */
tg_status model_save_optimizer(const tg_model *m, const char *path, long step,
                               const st_meta *extra, size_t n_extra);
tg_status model_load_optimizer(tg_model *m, const char *path, long *step, model_meta **meta_out,
                               char *err, size_t err_len);

/* A generator state as 64 hex digits (buf >= 65 bytes) and back, so that a
 * run's RNG streams can be saved in metadata and resumed exactly. */
void model_rng_format(const tg_rng *rng, char *buf, size_t size);
tg_status model_rng_parse(const char *text, tg_rng *rng);

/* ------------------------------------------------------------------------ */
/* Incremental decoding: the key/value cache and the cached forward pass
 * (cache.c, decode.c). A run state for one generator, kept apart from its
 * weights (llama2.c's RunState): per layer the keys and values of every
 * token fed so far, and the activations of one chunk of new tokens. Its
 * blocks are the training forward's (model_block_forward); only attention
 * differs: each new query attends over the cached keys and values directly,
 * and with relative attention adds q_i . E[j - i] for the distances it needs.
 *
 * Size letters: B sequences decoded together, T tokens fed in one call,
 * T_ctx the model's context. */

typedef struct model_cache model_cache;

/* A run state for a generator: a cache of (L, max_batch, H, T_ctx, D) keys
 * and as many values (FC: slots for the keys its rows still read, grown as
 * needed; see model_cache_kv_bytes), and activations for up to max_batch x max_chunk tokens
 * fed in one piece (longer feeds are cut into chunks; 0: 64). The model is
 * borrowed: it must outlive the state and its weights must not change while
 * the cache holds tokens. The keys and values take the model's precision at
 * creation (bf16 models: bf16, but fc's stay fp32); changing the model's
 * precision afterwards is an error (decoding asserts). TG_ERR_ARG for a
 * discriminator or bad sizes, TG_ERR_NOMEM. */
tg_status model_cache_create(const tg_model *model, int max_batch, int max_chunk,
                             model_cache **out);
void model_cache_free(model_cache *s); /* accepts NULL */
/* Empties the cache and sets the number of sequences (1..max_batch) the next
 * feeds carry. */
void model_cache_reset(model_cache *s, int B);
/* Keeps the sequences rows[0..n-1] (increasing indices into the current
 * batch) as sequences 0..n-1, dropping the others from the cache: for
 * batches whose sequences stop at different times. 1 <= n <= B. */
void model_cache_keep_rows(model_cache *s, const int *rows, int n);
/* dst's cache becomes src's with every sequence repeated `copies` times:
 * src's row b goes to dst's rows b*copies .. b*copies + copies - 1, at the
 * same length, so that the copies continue the prefix without encoding it
 * again (SeqGAN's rollouts). Both states must belong to the same model
 * (assertion) and dst must hold src's batch times copies rows. The logits of
 * the prefix's last token are the caller's to copy. */
void model_cache_fork(model_cache *dst, const model_cache *src, int copies);
/* The same branching without the copy: dst's rows b*copies .. b*copies +
 * copies - 1 read src's row b's keys and values in place for the shared
 * positions 0..len-1 (len = src's length now) and keep only the tokens fed
 * after them. The tokens and logits are those of model_cache_fork, bit for
 * bit. src is borrowed read-only: until dst is reset (or forked, or shared
 * again) src must not be reset, have rows dropped, or be freed; feeding src
 * further is fine (it writes past the shared positions). With FC-attention
 * src drops the keys of its oldest bar in full as it opens new bars: it may
 * go on into the next bar, not further, while dst's rows still read the
 * shared positions (an assertion checks). */
void model_cache_share(model_cache *dst, const model_cache *src, int copies);
/* Tokens per sequence in the cache (0..T_ctx), sequences, and the model. */
int model_cache_len(const model_cache *s);
int model_cache_batch(const model_cache *s);
int model_cache_max_batch(const model_cache *s);
const tg_model *model_cache_model(const model_cache *s);
/* Bytes of the cache and of the activations. */
size_t model_cache_bytes(const model_cache *s);
/* Bytes of the keys and values allocated now. Relative and absolute
 * attention: (L, max_batch, H, T_ctx, D) twice, from creation on, fp32
 * numbers for an fp32 model and bf16 (half the bytes) for a bf16 one. FC
 * (fp32 in both precisions): the
 * slots the rows keep (their own bar and the bars up to the largest distance
 * and one more back in full, one summary for every older bar), which grow
 * as needed (feeding then allocates) up to T_ctx. */
size_t model_cache_kv_bytes(const model_cache *s);
/* FC only (ignored otherwise): 1 keeps every position's keys and values from
 * now on, as before issue 18 (the reference for tests and benches); 0, the
 * default, drops those no later query reads. Set it on an empty cache. */
void model_cache_fc_keep_all(model_cache *s, int on);

/* Feeds tokens (B,T) (row b: the next T tokens of sequence b, ids in [0,V))
 * at positions len..len+T-1, appending their keys and values to the cache,
 * and writes logits (B,V) of the last position when logits is not NULL.
 * Needs len + T <= T_ctx (assertion). Attention of a new token at position i:
 * keys j <= i with logit_ij = (q_i.k_j + q_i.E[j-i]) / sqrt(D) (the relative
 * term only with relative attention; absolute adds wpe[i] to the input). */
void model_decode(model_cache *s, const int *tokens, int T, float *logits);

/* ------------------------------------------------------------------------ */
/* Internals shared by the files of src/model (the trainer and sampler use
 * the functions above, not these fields). */

/* bf16 copies of one block's weight matrices (precision.c), shapes as in
 * model_block_params. */
typedef struct {
    nn_bf16 *qkv_w, *proj_w, *fc_w, *fc2_w;
} model_block_bf16;

/* Refreshes the bf16 copies when the weights changed since (no-op for fp32). */
void model_bf16_sync(const tg_model *m);

/* Activations of one block kept for the backward pass, (B,T,...) each. */
typedef struct {
    float *ln1, *ln1_mean, *ln1_rstd; /* (B,T,C), (B,T), (B,T) */
    float *qkv;                       /* (B,T,3C) */
    float *att;                       /* (B,H,T,T) softmax probabilities; fc: (B,H,T) log-sum-exp */
    float *atty;                      /* (B,T,C) attention output, input of proj */
    float *res2;                      /* (B,T,C) residual stream after attention */
    float *ln2, *ln2_mean, *ln2_rstd; /* (B,T,C), (B,T), (B,T) */
    float *fch, *fch_gelu;            /* (B,T,F) fc output and its GELU */
    float *res3;                      /* (B,T,C) block output */
    uint8_t *mask_attn, *mask_mlp;    /* (B,T,C) dropout masks of the two branches */
} model_layer_acts;

/* Every piece carved from the arena by a forward pass for its (B,T). */
typedef struct {
    int *tokens, *targets, *lengths;  /* copies of the inputs: (B,T), (B,T), (B) */
    float *labels;                    /* (B) */
    float *emb;                       /* (B,T,C) embedding after dropout */
    uint8_t *mask_emb;                /* (B,T,C) */
    float *lnf, *lnf_mean, *lnf_rstd; /* (B,T,C), (B,T), (B,T) */
    float *logits, *losses;           /* generator: (B,T,V), (B,T) */
    float *pooled, *dlogit;           /* discriminator: (B,C), (B) */
    float *disc_logits, *probs, *disc_losses; /* (B) each */
    float *tmp;                       /* (B,T,C) branch output before dropout */
    float *scratch;                   /* attention scratch (nn_attention_scratch_floats) */
    float *dx, *dc1, *dc2;            /* (B,T,C) gradients of the residual stream, temps */
    float *df1;                       /* (B,T,F) gradient of fc's output, GELU's in place */
    float *dqkv;                      /* (B,T,3C) */
    int *fc_bar, *fc_start, *fc_nbars;/* fc: (B,T), (B,T+2), (B) bars of the batch (nn_fc_plan) */
    int *fc_keys;                     /* fc: (H,T) key lists, one per head's thread */
    nn_bf16 *cast1, *cast2;           /* bf16 models: (B,T,max(3C,F,V)) each, rounded operands */
} model_acts;

struct tg_model {
    model_config cfg;
    int max_batch;
    int C, H, F, L, V, R;             /* sizes; R = relative rows (0 when absolute) */
    model_tensor *table;              /* n_tensors rows */
    size_t n_tensors;
    size_t n_params;                  /* floats in each of the four blocks */
    float *param_data, *grad_data, *m_data, *v_data;
    model_params params, grads;       /* named pointers into param_data, grad_data */
    model_block_params *param_blocks, *grad_blocks; /* L each */
    tg_arena *arena;                  /* activations, sized at creation */
    model_acts acts;
    model_layer_acts *layers;         /* L */
    /* the last forward pass */
    int fwd_B, fwd_T;
    int fwd_kind;                     /* 0 none, 1 lm, 2 disc */
    int fwd_has_targets;              /* targets or labels given */
    int fwd_dropout;                  /* dropout masks drawn */
    int n_valid;                      /* targets counted in the mean loss */
    int naive_attention;              /* test hook */
    float *naive_scratch;             /* context*context*D floats when naive_attention */
    /* mixed precision (precision.c): bf16 copies of the weight matrices */
    int bf16;                         /* 1: products in bf16 */
    nn_bf16 *w16_data;                /* every copy, one allocation */
    model_block_bf16 *blocks16;       /* L, pointers into w16_data */
    nn_bf16 *wte16;                   /* (V,C) generator's output matrix, or NULL */
    nn_bf16 *rel16;                   /* (L,H,R,D) relative tables for decoding's q . E over a
                                       * bf16 cache (relative generators only), or NULL */
    unsigned long w_version, w16_version; /* writes of the weights; the copy's */
};

/* One block's pass (block.c), shared by training and cached decoding. */
typedef struct {
    int C, F;
    int matvec_rows;    /* linear layers of at most this many rows use nn_matvec (0: never) */
    float dropout;      /* 0: none */
    tg_rng *rng;        /* dropout masks, when dropout > 0 */
    /* the attention kind's step for layer l: atty from qkv (see io) */
    void (*attend)(void *ctx, int l, const model_block_params *bp);
    void *ctx;
    const model_block_bf16 *w16; /* L of them: bf16 products (NULL: fp32) */
    nn_bf16 *cast;      /* with w16: N*max(3C,F) bf16 scratch for the rounded inputs */
} model_block_run;

/* Where one block's pass reads and writes, N rows each: x (N,C) the input;
 * ln1, ln2 (N,C) with their statistics (N); qkv (N,3C); atty (N,C) written by
 * attend; res2 (N,C) the stream after attention; fch (N,F) and fch_gelu (N,F)
 * (the same buffer when no pre-GELU copy is kept); out (N,C); tmp (N,C) a
 * branch before the residual add; the dropout masks (N,C) when dropping.
 * Decoding sets res2 = out = x: the stream is updated in place. */
typedef struct {
    const float *x;
    float *ln1, *ln1_mean, *ln1_rstd, *qkv, *atty, *res2;
    float *ln2, *ln2_mean, *ln2_rstd, *fch, *fch_gelu, *out, *tmp;
    uint8_t *mask_attn, *mask_mlp;
} model_block_io;

void model_block_forward(const model_block_run *run, int l, const model_block_params *bp,
                         const model_block_io *io, int N);

/* The run state of incremental decoding (cache.c, decode.c). */
struct model_cache {
    const tg_model *model;    /* borrowed */
    const model_params *p;    /* its named weight pointers */
    int C, H, D, F, L, V, T_ctx;
    int R;                    /* relative-table rows (0: absolute attention) */
    int max_batch, max_chunk;
    int B;                    /* sequences in the cache now */
    int len;                  /* tokens per sequence in the cache */
    /* the cache: layer l, sequence b, head h, position t at
     * (((l * max_batch + b) * H + h) * T_ctx + t) * D; fp32 models (and fc
     * attention, whose cache stays fp32) in k, v, bf16 models in k16, v16
     * (the other pair NULL) */
    float *k, *v;
    nn_bf16 *k16, *v16;
    /* activations of one chunk of n <= max_chunk tokens per sequence */
    float *x;                 /* (B,n,C) residual stream */
    float *ln;                /* (B,n,C) LayerNorm output */
    float *qkv;               /* (B,n,3C) */
    float *atty;              /* (B,n,C) attention output */
    float *tmp;               /* (B,n,C) branch output */
    float *fch;               /* (B,n,F) */
    float *mean, *rstd;       /* (B,n) LayerNorm statistics (not needed, the kernel writes them) */
    float *last;              /* (B,C) final LayerNorm of each sequence's last token */
    float *scores;            /* (B,H,T_ctx) attention logits of one query per (b,h) */
    float *qh;                /* (H,B,D) one query of every sequence, grouped by head */
    float *relsc;             /* (H,B,T_ctx) its relative terms q . E[j - i] */
    int *tokens;              /* (B,n) the chunk's tokens */
    /* fc attention: the bars of every sequence in the cache, as in nn_fc_plan */
    int fc;                   /* 1 with fc attention */
    int *fc_bar, *fc_start, *fc_nbars; /* (max_batch,T_ctx), (max_batch,T_ctx+2), (max_batch) */
    int *fc_keys;             /* (max_batch,T_ctx) one query's keys per sequence */
    int *fc_slot;             /* (max_batch,T_ctx) where each key is: a slot of the row, or
                               * -1 - a slot of the shared prefix's row */
    int *fc_count;            /* (max_batch) how many */
    float *fc_qe;             /* (max_batch,H,R) E q of one query per (b,h) */
    /* fc's compact cache (cache.c): slots, not positions. A row keeps, in
     * order of position, the summary (first token) of each bar before
     * fc_j0[b] from bar fc_sbase[b] on, then every position from
     * max(start of bar fc_j0[b], shared_len) on. k and v are then
     * (L, max_batch, H, fc_cap, D); fc_keep_all: every position (the cache
     * before issue 18, the reference), fc_cap = T_ctx. */
    int *fc_j0, *fc_sbase;    /* (max_batch) */
    int fc_cap;               /* slots per (layer, sequence, head) */
    int fc_span;              /* bars kept in full behind the newest: largest distance + 1 */
    int fc_keep_all;
    nn_bf16 *cast;            /* bf16 models: rounded inputs of a prefill's products, else NULL */
    /* a shared prefix (model_cache_share): positions < shared_len of row b
     * are row shared_row[b] of shared's cache; NULL / 0 when not sharing */
    const model_cache *shared;
    int shared_len;
    int *shared_row;          /* (max_batch) */
    size_t cache_bytes, act_bytes;
};

/* FC's compact cache (cache.c), for decode.c. The slot of position pos in
 * row b's own slots (positions from lo on; lo = shared_len, or 0 for a
 * state read as a shared prefix), -1 when the row no longer keeps it. */
int model_fc_slot(const model_cache *s, int b, int pos, int lo);
/* Room in every row for n more tokens (the slots grow when needed). */
void model_fc_reserve(model_cache *s, int n);
/* After a chunk: the bars no later query reads in full keep their summary only. */
void model_fc_compact(model_cache *s);

/* The parameter layout (params.c): fills table (when not NULL) with every
 * tensor in order and, when base pointers are given, points the named
 * pointers of params/blocks into them. Returns the number of tensors and
 * writes the total number of floats to *n_floats. */
size_t model_layout(const model_config *cfg, model_tensor *table, size_t *n_floats,
                    float *param_base, model_params *params, model_block_params *param_blocks,
                    float *grad_base, model_params *grads, model_block_params *grad_blocks);

/* Carves the activations for (B,T) from arena (when not NULL) into acts and
 * layers; returns the bytes needed (transformer.c). */
size_t model_acts_plan(tg_model *m, int B, int T, tg_arena *arena);

#endif /* TG_MODEL_H */
