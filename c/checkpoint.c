// checkpoint.c -- a small binary format, documented in README.md ("Checkpoint format").
// All integers and floats little-endian (wasm and x86 are little-endian, so we copy bytes).
//
//   offset  size  field
//   0       8     magic "DDPMCKPT"
//   8       4     u32 version = 2 (version 1 files, without the run settings at 80, still load)
//   12      4     u32 image_size   16      4  u32 hidden      20  4  u32 temb_dim
//   24      4     u32 activation   28      4  u32 predict     32  4  u32 T
//   36      4     u32 schedule     40      8  f64 beta_start  48  8  f64 beta_end
//   56      4     u32 flags (bit 0: AdamW state present, bit 1: EMA weights present,
//                 bit 2: training history present)
//   60      4     u32 step (optimiser steps taken)
//   64      8     u64 training RNG state    72  8  u64 training RNG increment
//                 (so a resumed run draws exactly what the uninterrupted run would have)
//   80      80    version 2 only: the settings of the run that wrote the file (the rest of
//                 DDPMConfig), for the caller to resume it as it was planned; the load checks
//                 them and leaves the model's own settings as they are:
//                 80 u32 batch     84 u32 steps (planned)   88 f64 lr         96 f64 beta1
//                 104 f64 beta2    112 f64 adam_eps         120 f64 weight_decay
//                 128 f64 lr_min_frac   136 f64 ema_decay   144 u32 lr_schedule
//                 148 u32 sigma    152 u32 clip_x0          156 u32 seed
//   160     ...   (80 in version 1) f32 parameters, tensor by tensor in Params order, each
//                 row-major (out, in)
//           ...   if bit 0: f32 AdamW m then v (same order), if bit 1: f32 EMA weights
//           ...   if bit 2: u32 AdamW updates since the moments were zero (adam_steps; read with
//                 bit 0 only), then f32 loss of each of the `step` steps (NaN where not recorded)
//   end-4   4     u32 CRC-32 (IEEE 802.3, as zlib.crc32) of every byte before it
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ddpm.h"

#define VERSION 2
#define HEADER_BYTES_V1 80
#define HEADER_BYTES 160   // version 2's: version 1's and the run settings
#define FLAG_OPTIMIZER 1u
#define FLAG_EMA 2u
#define FLAG_HISTORY 4u
#define ALL_FLAGS (FLAG_OPTIMIZER | FLAG_EMA | FLAG_HISTORY)
static const char MAGIC[8] = {'D', 'D', 'P', 'M', 'C', 'K', 'P', 'T'};

static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static uint32_t get_u32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static void put_f64(uint8_t *p, double v) { memcpy(p, &v, 8); }
static double get_f64(const uint8_t *p) { double v; memcpy(&v, p, 8); return v; }
static void put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint64_t get_u64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

// CRC-32 by its definition: each byte xored in, then 8 rounds of shift and conditional xor of
// the reflected polynomial. The reference for crc32 below (native self-test).
uint32_t crc32_bitwise(const uint8_t *data, size_t n) {
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        crc ^= data[i];
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

// The same CRC 8 bytes at a time (slicing-by-8). crc_table[0][x] is the 8 rounds applied to a
// byte x, and crc_table[k][x] is what x becomes after k more zero bytes, so the 8 bytes of a
// word each take one lookup and their effects are xored together. Bit by bit, a 33 MB
// checkpoint's checksum took about 260 ms in wasm, blocking the page on every Save and Load.
static uint32_t crc_table[8][256];

static void crc_tables_init(void) {
    for (uint32_t x = 0; x < 256; x++) {
        uint32_t c = x;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
        crc_table[0][x] = c;
    }
    for (int k = 1; k < 8; k++)
        for (uint32_t x = 0; x < 256; x++)
            crc_table[k][x] = (crc_table[k - 1][x] >> 8) ^ crc_table[0][crc_table[k - 1][x] & 0xFFu];
}

uint32_t crc32(const uint8_t *data, size_t n) {
    if (crc_table[0][1] == 0) crc_tables_init();  // entry 1 is the polynomial's shift, never 0
    const uint32_t (*t)[256] = crc_table;
    uint32_t crc = 0xFFFFFFFFu;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint32_t lo = crc ^ get_u32(data + i), hi = get_u32(data + i + 4);
        crc = t[7][lo & 0xFFu] ^ t[6][(lo >> 8) & 0xFFu] ^ t[5][(lo >> 16) & 0xFFu] ^ t[4][lo >> 24] ^
              t[3][hi & 0xFFu] ^ t[2][(hi >> 8) & 0xFFu] ^ t[1][(hi >> 16) & 0xFFu] ^ t[0][hi >> 24];
    }
    for (; i < n; i++) crc = (crc >> 8) ^ t[0][(crc ^ data[i]) & 0xFFu];
    return ~crc;
}

// how many arrays of num_params floats follow the header: the weights, m and v, the EMA weights
static size_t arrays_for(uint32_t flags) {
    return 1 + ((flags & FLAG_OPTIMIZER) ? 2 : 0) + ((flags & FLAG_EMA) ? 1 : 0);
}

// the bytes before the arrays in a file of this version (1 or 2)
static size_t header_bytes(uint32_t version) { return version == 1 ? HEADER_BYTES_V1 : HEADER_BYTES; }

// (in 64 bits: a config's longest file need not fit wasm32's size_t, ddpm_checkpoint_max_size; a
// model's own files do, and its callers take them as size_t)
static uint64_t size_for(uint64_t num_params, uint32_t flags, uint32_t step, uint64_t header) {
    uint64_t history = (flags & FLAG_HISTORY) ? 4 + (uint64_t)step * sizeof(float) : 0;
    return header + arrays_for(flags) * num_params * sizeof(float) + history + 4;
}

static uint32_t flags_for(const DDPM *m, int with_optimizer) {
    return (with_optimizer ? FLAG_OPTIMIZER : 0u) | (m->ema_memory ? FLAG_EMA : 0u) | FLAG_HISTORY;
}

size_t ddpm_checkpoint_size(const DDPM *m, int with_optimizer) {
    return (size_t)size_for(m->shape.num_params, flags_for(m, with_optimizer), (uint32_t)m->step, HEADER_BYTES);
}

// The most bytes any checkpoint of a model of this config can have: every array (the weights,
// AdamW's moments, the EMA) and the losses of the most steps a config plans. A caller refuses a
// longer file before it reads it or copies it in (a file of 2 GB with a sound header took the
// module's memory, and the refusal was of an allocation, not of the file); no model is needed.
uint64_t ddpm_checkpoint_max_size(const DDPMConfig *cfg) {
    ModelShape shape;
    model_shape(&shape, cfg);
    return size_for(shape.num_params, ALL_FLAGS, MAX_STEPS, HEADER_BYTES);
}

// the index of the first of n floats at p that is NaN or Inf, or n
static size_t first_nonfinite(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float v;
        memcpy(&v, p + i * sizeof(float), sizeof v);
        if (!isfinite(v)) return i;
    }
    return n;
}

int ddpm_checkpoint_save(const DDPM *m, uint8_t *buf, size_t cap, int with_optimizer) {
    uint32_t flags = flags_for(m, with_optimizer);
    size_t need = (size_t)size_for(m->shape.num_params, flags, (uint32_t)m->step, HEADER_BYTES), bytes = m->shape.num_params * sizeof(float);
    if (cap < need) return ddpm_set_error(DDPM_ERR_ARGUMENT, "checkpoint: buffer of %zu bytes, need %zu", cap, need);
    if (ddpm_mid_step(m))
        return ddpm_set_error(DDPM_ERR_ARGUMENT, "checkpoint: a training step is half done; save between steps");
    // A model whose last update overflowed (training reports that at the next step) would make a
    // file that every load refuses: refused before a byte is written, so that no buffer holds a
    // checksummed file of it. The arrays in file order: the weights, AdamW's m and v (with the
    // optimizer), the EMA.
    const float *arrays[4];
    const char *names[4];
    int narrays = 0;
    arrays[narrays] = m->param_memory; names[narrays++] = "weight";
    if (flags & FLAG_OPTIMIZER) {
        arrays[narrays] = m->m_memory; names[narrays++] = "AdamW m";
        arrays[narrays] = m->v_memory; names[narrays++] = "AdamW v";
    }
    if (flags & FLAG_EMA) { arrays[narrays] = m->ema_memory; names[narrays++] = "EMA weight"; }
    for (int k = 0; k < narrays; k++) {
        size_t bad = first_nonfinite((const uint8_t *)arrays[k], m->shape.num_params);
        if (bad < m->shape.num_params)
            return ddpm_set_error(DDPM_ERR_DIVERGED, "checkpoint: the model holds NaN or Inf (%s %zu; its training diverged), "
                                  "and a file of it would not load", names[k], bad);
    }
    const DDPMConfig *c = &m->cfg;
    memcpy(buf, MAGIC, 8);
    put_u32(buf + 8, VERSION);
    put_u32(buf + 12, (uint32_t)c->image_size); put_u32(buf + 16, (uint32_t)c->hidden);
    put_u32(buf + 20, (uint32_t)c->temb_dim); put_u32(buf + 24, (uint32_t)c->activation);
    put_u32(buf + 28, (uint32_t)c->predict); put_u32(buf + 32, (uint32_t)c->T);
    put_u32(buf + 36, (uint32_t)c->schedule); put_f64(buf + 40, c->beta_start); put_f64(buf + 48, c->beta_end);
    put_u32(buf + 56, flags); put_u32(buf + 60, (uint32_t)m->step);
    put_u64(buf + 64, m->rng.state); put_u64(buf + 72, m->rng.inc);
    put_u32(buf + 80, (uint32_t)c->batch); put_u32(buf + 84, (uint32_t)c->steps);
    put_f64(buf + 88, c->lr); put_f64(buf + 96, c->beta1); put_f64(buf + 104, c->beta2);
    put_f64(buf + 112, c->adam_eps); put_f64(buf + 120, c->weight_decay); put_f64(buf + 128, c->lr_min_frac);
    put_f64(buf + 136, c->ema_decay); put_u32(buf + 144, (uint32_t)c->lr_schedule);
    put_u32(buf + 148, (uint32_t)c->sigma); put_u32(buf + 152, (uint32_t)c->clip_x0); put_u32(buf + 156, c->seed);
    uint8_t *p = buf + HEADER_BYTES;
    memcpy(p, m->param_memory, bytes); p += bytes;
    if (flags & FLAG_OPTIMIZER) { memcpy(p, m->m_memory, bytes); p += bytes; memcpy(p, m->v_memory, bytes); p += bytes; }
    if (flags & FLAG_EMA) { memcpy(p, m->ema_memory, bytes); p += bytes; }
    put_u32(p, (uint32_t)m->adam_steps); p += 4;
    memcpy(p, m->loss_history, (size_t)m->step * sizeof(float)); p += (size_t)m->step * sizeof(float);
    put_u32(p, crc32(buf, (size_t)(p - buf)));
    return DDPM_OK;
}

#define REFUSE(...) ddpm_set_error(DDPM_ERR_CHECKPOINT, __VA_ARGS__)

static int check_field(const char *name, uint32_t file, uint32_t model) {
    if (file == model) return DDPM_OK;
    return REFUSE("checkpoint: mismatched %s: the file has %u, this model has %u", name, file, model);
}

// the same for a field that holds one of a few choices, named as ddpm_config_set spells them
static int check_choice(const char *name, uint32_t file, uint32_t model) {
    if (file == model) return DDPM_OK;
    const char *f = ddpm_choice_name(name, file > INT32_MAX ? -1 : (int)file), *m = ddpm_choice_name(name, (int)model);
    return REFUSE("checkpoint: mismatched %s: the file has %s, this model has %s", name, f ? f : "an unknown value", m ? m : "?");
}

// the file's model against this one: a file for another model names the field that differs
static int check_architecture(const DDPMConfig *c, const uint8_t *buf) {
    int err;
    if ((err = check_field("image_size", get_u32(buf + 12), (uint32_t)c->image_size))) return err;
    if ((err = check_field("hidden", get_u32(buf + 16), (uint32_t)c->hidden))) return err;
    if ((err = check_field("temb_dim", get_u32(buf + 20), (uint32_t)c->temb_dim))) return err;
    if ((err = check_choice("activation", get_u32(buf + 24), (uint32_t)c->activation))) return err;
    if ((err = check_choice("predict", get_u32(buf + 28), (uint32_t)c->predict))) return err;
    if ((err = check_field("T", get_u32(buf + 32), (uint32_t)c->T))) return err;
    if ((err = check_choice("schedule", get_u32(buf + 36), (uint32_t)c->schedule))) return err;
    // the cosine schedule does not use the betas: two cosine models are the same whatever they hold
    if (c->schedule != SCHEDULE_COSINE && (get_f64(buf + 40) != c->beta_start || get_f64(buf + 48) != c->beta_end))
        return REFUSE("checkpoint: mismatched betas: the file has %g..%g, this model has %g..%g",
                      get_f64(buf + 40), get_f64(buf + 48), c->beta_start, c->beta_end);
    return DDPM_OK;
}

// a length that is not the one the header implies, by name
static int check_length(size_t len, size_t need) {
    if (len < need) return REFUSE("checkpoint: truncated: %zu bytes, expected %zu", len, need);
    if (len > need) return REFUSE("checkpoint: %zu bytes, expected %zu (trailing data)", len, need);
    return DDPM_OK;
}

// The file as a file: long enough, ours, of a version this build reads, and whole (its checksum).
static int check_envelope(const DDPM *m, const uint8_t *buf, size_t len) {
    // what the file is first (a text file of 40 bytes is not a checkpoint cut short), then whether it is whole
    if (len < 8) return REFUSE("checkpoint: not a DDPM checkpoint (%zu bytes%s)", len, len ? ": too few to be one" : ": an empty file");
    if (memcmp(buf, MAGIC, 8) != 0) return REFUSE("checkpoint: not a DDPM checkpoint (its first 8 bytes are not the marker DDPMCKPT)");
    if (len < HEADER_BYTES_V1 + 4) return REFUSE("checkpoint: truncated: %zu bytes is shorter than the %d-byte header", len, HEADER_BYTES_V1 + 4);
    uint32_t version = get_u32(buf + 8), stored = get_u32(buf + len - 4), actual = crc32(buf, len - 4);
    // (a damaged version field is damage, not a newer format: the checksum tells them apart)
    if (version != 1 && version != VERSION)
        return stored == actual ? REFUSE("checkpoint: unsupported version %u (this build reads versions 1 and 2)", version)
                                : REFUSE("checkpoint: corrupt: checksum 0x%08x does not match the data (0x%08x), and its version "
                                         "field reads %u: the file changed after it was saved (a damaged copy or download)",
                                         stored, actual, version);
    if (len < header_bytes(version) + 4)
        return REFUSE("checkpoint: truncated: %zu bytes is shorter than the %zu-byte header of version %u", len, header_bytes(version) + 4, version);
    // The checksum before the header is believed: one damaged byte of the header must not be
    // reported as a file for another model. A file cut short (or with bytes added) fails the
    // checksum too; when its header describes this model with another length, both are named,
    // since a damaged step or flags field gives that same pair (it is 4 bytes per step, and
    // each flag a whole array, away from the length the file has).
    if (stored == actual) return DDPM_OK;
    uint32_t flags = get_u32(buf + 56), step = get_u32(buf + 60);
    // (step bounded before the size is computed from it: up to 2^32 losses would overflow a size_t in wasm)
    if ((flags & ~ALL_FLAGS) == 0 && check_architecture(&m->cfg, buf) == DDPM_OK && step <= (uint32_t)m->cfg.steps) {
        size_t need = (size_t)size_for(m->shape.num_params, flags, step, header_bytes(version));
        if (len != need)
            return REFUSE("checkpoint: %s: %zu bytes where its header implies %zu, and the checksum does not match "
                          "(the file was %s, or its header is damaged)", len < need ? "truncated" : "trailing data",
                          len, need, len < need ? "cut short" : "extended");
    }
    return REFUSE("checkpoint: corrupt: checksum 0x%08x does not match the data (0x%08x): the file changed after it "
                  "was saved (a damaged copy or download)", stored, actual);
}

// The loss history of `step` steps: each an MSE, >= 0, or NaN for a step whose loss was not
// recorded (one trained before a load of a file without a history)
static int check_losses(const uint8_t *losses, uint32_t step) {
    for (uint32_t i = 0; i < step; i++) {
        float loss;
        memcpy(&loss, losses + (size_t)i * sizeof(float), sizeof loss);
        if (!(loss >= 0.0f && loss < INFINITY) && loss == loss)
            return REFUSE("checkpoint: the loss of step %u is %g; a loss must be >= 0 and finite (or NaN: not recorded)", i + 1, (double)loss);
    }
    return DDPM_OK;
}

// The arrays (weights, then AdamW's m and v, then the EMA, as flags say), P floats each: finite,
// v >= 0, and no moments without an update counted
static int check_arrays(const uint8_t *arrays, size_t P, uint32_t flags, uint32_t adam_steps) {
    size_t count = arrays_for(flags) * P;
    for (size_t i = 0; i < count; i++) {
        float v;
        memcpy(&v, arrays + i * sizeof(float), sizeof v);
        if (!isfinite(v)) {
            // named by array and index ("value 100" read as if the value were 100)
            size_t k = i / P;
            const char *array = k == 0 ? "weights" : (flags & FLAG_OPTIMIZER) && k <= 2 ? (k == 1 ? "AdamW m" : "AdamW v") : "EMA weights";
            return REFUSE("checkpoint: %s[%zu] is NaN or Inf", array, i % P);
        }
        // AdamW's v is a mean of squares: a negative one makes sqrt(v) and the weights NaN
        if ((flags & FLAG_OPTIMIZER) && i >= 2 * P && i < 3 * P && v < 0.0f)
            return REFUSE("checkpoint: AdamW v[%zu] is %g; v must be >= 0", i - 2 * P, (double)v);
        // moments with no update counted: the first update's bias correction would scale m by 10
        if ((flags & FLAG_OPTIMIZER) && adam_steps == 0 && i >= P && i < 3 * P && v != 0.0f)
            return REFUSE("checkpoint: corrupt: AdamW moments are nonzero but no AdamW update is counted");
    }
    return DDPM_OK;
}

// AdamW's moments as AdamW makes them (c: the betas and eps they were made with, a version 2
// file's own; a version 1 file's are taken to be this model's). From zero,
// m = (1 - b1) sum b1^k g_k and v = (1 - b2) sum b2^k g_k^2 over the same gradients, so by
// Cauchy-Schwarz |m| <= C sqrt(v) with C = (1 - b1) / sqrt((1 - b2)(1 - b1^2 / b2)) (7.3 at
// 0.9, 0.999; config.c requires b1^2 < b2). A file far past that (an m of 1e35 beside a v of
// 1e-11 passed every other check) is not AdamW's state, and its next update overflows the
// weights to Inf while the step reports success. MOMENT_SLACK leaves room for a version 1 file
// trained with other betas (C ranges over 1 to 10 for common ones, and version 1 files do not
// record their betas); v is taken as at least FLT_MIN, since g^2 underflows to 0 in float for
// |g| below 1e-22 while m = (1 - b1) g does not (at an adam_eps of 1e-30 a file straight from
// training was refused without that floor).
#define MOMENT_SLACK 1000.0
static int check_moments(const DDPMConfig *c, const char *whose, const uint8_t *m_arr, const uint8_t *v_arr, size_t P) {
    double b1 = (float)c->beta1, b2 = (float)c->beta2, r = b1 > 0 ? b1 * b1 / b2 : 0.0;
    double bound = (1.0 - b1) / sqrt((1.0 - b2) * (1.0 - r)), limit = MOMENT_SLACK * bound;
    for (size_t i = 0; i < P; i++) {
        float mi, vi;
        memcpy(&mi, m_arr + i * sizeof(float), sizeof mi);
        memcpy(&vi, v_arr + i * sizeof(float), sizeof vi);
        double ratio = fabs((double)mi) / (sqrt(fmax((double)vi, FLT_MIN)) + c->adam_eps);
        if (ratio > limit)
            return REFUSE("checkpoint: corrupt: AdamW m[%zu] = %g beside v[%zu] = %g: |m| / (sqrt(v) + eps) is %.3g, not a "
                          "state AdamW makes (with %s betas, %g and %g, it stays below %.3g, and files past %g "
                          "times that are refused); its next update would move that weight by lr times the ratio",
                          i, (double)mi, i, (double)vi, ratio, whose, c->beta1, c->beta2, bound, MOMENT_SLACK);
    }
    return DDPM_OK;
}

// Version 2's run settings in place of c's own (the architecture, max_batch and the schedule stay c's)
static void read_settings(const uint8_t *buf, DDPMConfig *c) {
    c->batch = (int)get_u32(buf + 80); c->steps = (int)get_u32(buf + 84);
    c->lr = get_f64(buf + 88); c->beta1 = get_f64(buf + 96); c->beta2 = get_f64(buf + 104);
    c->adam_eps = get_f64(buf + 112); c->weight_decay = get_f64(buf + 120); c->lr_min_frac = get_f64(buf + 128);
    c->ema_decay = get_f64(buf + 136); c->lr_schedule = (int)get_u32(buf + 144);
    c->sigma = (int)get_u32(buf + 148); c->clip_x0 = (int)get_u32(buf + 152); c->seed = get_u32(buf + 156);
}

// The run settings of a version 2 file: ones this library would run with (a config it accepts),
// planned for at least the steps taken. Into *settings: this model's config with them in place.
static int check_settings(const DDPM *m, const uint8_t *buf, uint32_t step, DDPMConfig *settings) {
    *settings = m->cfg;
    read_settings(buf, settings);
    if (ddpm_config_validate(settings) != DDPM_OK) {
        char why[256];
        snprintf(why, sizeof why, "%s", ddpm_last_error());
        return REFUSE("checkpoint: corrupt: the run settings it holds are not valid (%s)", why);
    }
    if ((settings->ema_decay > 0) != ((get_u32(buf + 56) & FLAG_EMA) != 0))
        return REFUSE("checkpoint: corrupt: its ema_decay %g and its flags disagree on whether it holds EMA weights", settings->ema_decay);
    if ((uint32_t)settings->steps < step)
        return REFUSE("checkpoint: corrupt: it has taken %u steps of a run planned for %d", step, settings->steps);
    return DDPM_OK;
}

// What a whole file holds, for this model: known flags, the same architecture, no more steps than
// planned, the length the header implies, an odd RNG increment, version 2's run settings, then the
// AdamW count, the losses and the arrays. On success *adam_steps is the AdamW updates the moments
// have seen.
static int check_contents(const DDPM *m, const uint8_t *buf, size_t len, uint32_t *adam_steps) {
    uint32_t flags = get_u32(buf + 56), step = get_u32(buf + 60), version = get_u32(buf + 8);
    size_t header = header_bytes(version);
    if ((flags & ~ALL_FLAGS) != 0) return REFUSE("checkpoint: unknown flags 0x%x (this build reads bits 0-2)", flags);
    int err;
    if ((err = check_architecture(&m->cfg, buf))) return err;
    if (step > MAX_STEPS)  // (no plan could take it: "raise steps" would be no way out)
        return REFUSE("checkpoint: corrupt: it has taken %u steps, more than any model plans (%d)", step, MAX_STEPS);
    if (step > (uint32_t)m->cfg.steps)
        return REFUSE("checkpoint: it has taken %u steps, more than this model's planned %d (raise steps)", step, m->cfg.steps);
    size_t P = m->shape.num_params;
    if ((err = check_length(len, (size_t)size_for(P, flags, step, header)))) return err;
    if ((get_u64(buf + 72) & 1u) == 0) return REFUSE("checkpoint: corrupt: the RNG increment must be odd");
    // the moments are checked against the betas that made them: the file's, where it says
    DDPMConfig settings = m->cfg;
    if (version == 2 && (err = check_settings(m, buf, step, &settings))) return err;
    const uint8_t *history = buf + header + arrays_for(flags) * P * sizeof(float);
    *adam_steps = (flags & FLAG_OPTIMIZER) ? step : 0;  // files without a history: AdamW counted every step
    if (flags & FLAG_HISTORY) {
        if (flags & FLAG_OPTIMIZER) *adam_steps = get_u32(history);
        if (*adam_steps > step) return REFUSE("checkpoint: corrupt: %u AdamW updates in %u steps", *adam_steps, step);
        if ((err = check_losses(history + 4, step))) return err;
    }
    if ((err = check_arrays(buf + header, P, flags, *adam_steps))) return err;
    if (flags & FLAG_OPTIMIZER) {
        const uint8_t *m_arr = buf + header + P * sizeof(float);
        return check_moments(&settings, version == 2 ? "the file's" : "this model's", m_arr, m_arr + P * sizeof(float), P);
    }
    return DDPM_OK;
}

// Copy in a file both checks accepted.
static void copy_in(DDPM *m, const uint8_t *buf, uint32_t adam_steps) {
    uint32_t flags = get_u32(buf + 56), step = get_u32(buf + 60);
    size_t bytes = m->shape.num_params * sizeof(float), header = header_bytes(get_u32(buf + 8));
    const uint8_t *p = buf + header;
    memcpy(m->param_memory, p, bytes); p += bytes;
    if (flags & FLAG_OPTIMIZER) {
        memcpy(m->m_memory, p, bytes); p += bytes;
        memcpy(m->v_memory, p, bytes); p += bytes;
    } else {
        memset(m->m_memory, 0, bytes);
        memset(m->v_memory, 0, bytes);
    }
    if (m->ema_memory) {
        if (flags & FLAG_EMA) memcpy(m->ema_memory, p, bytes);
        else memcpy(m->ema_memory, m->param_memory, bytes);
    }
    m->step = (int)step;
    m->adam_steps = (int)adam_steps;  // fresh moments (a weights-only file) restart the bias correction
    m->rng.state = get_u64(buf + 64);
    m->rng.inc = get_u64(buf + 72);
    m->batch_filled = 0;          // a step half done is dropped: the file's step is whole
    m->update_pos = -1;
    m->next_forward = NEXT_NONE;  // it was computed from other weights
    // and so was a reverse chain in progress: it ends here, or it would go on with the file's
    // weights, half one model
    sampler_end_chain(&m->sampler, "the last one ended when a checkpoint was loaded");
    // the loss curve: the file's, or NaN ("not recorded") for a file without one
    for (uint32_t i = 0; i < step; i++) m->loss_history[i] = NAN;
    const uint8_t *history = buf + header + arrays_for(flags) * bytes;  // the AdamW count, then the losses
    if (flags & FLAG_HISTORY) memcpy(m->loss_history, history + 4, (size_t)step * sizeof(float));
}

// Everything is checked before anything is copied, so a refused file leaves the model untouched.
int ddpm_checkpoint_load(DDPM *m, const uint8_t *buf, size_t len) {
    uint32_t adam_steps = 0;
    int err;
    if ((err = check_envelope(m, buf, len))) return err;
    if ((err = check_contents(m, buf, len, &adam_steps))) return err;
    copy_in(m, buf, adam_steps);
    return DDPM_OK;
}
