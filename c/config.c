// config.c -- defaults (the paper's table), validation, setting a field by name, and errors.
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ddpm.h"

static char error_message[512] = "";

const char *ddpm_last_error(void) { return error_message; }

int ddpm_set_error(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_message, sizeof error_message, fmt, ap);
    va_end(ap);
    return code;
}

void ddpm_config_default(DDPMConfig *c) {
    memset(c, 0, sizeof *c);
    c->image_size = 16; c->hidden = 1024; c->temb_dim = 128;
    c->activation = ACT_SILU; c->predict = PREDICT_EPS;
    c->T = 100; c->schedule = SCHEDULE_LINEAR; c->beta_start = 1e-4; c->beta_end = 0.02;
    c->batch = 1; c->max_batch = 64; c->steps = 200;
    c->lr = 1e-3; c->beta1 = 0.9; c->beta2 = 0.999; c->adam_eps = 1e-8; c->weight_decay = 0.01;
    c->lr_schedule = LR_CONSTANT; c->lr_min_frac = 0.0; c->ema_decay = 0.0;
    c->sigma = SIGMA_BETA; c->clip_x0 = 0;
    c->seed = 0;
}

// x in the fewest significant digits that read back as x: 0.1, not %.17g's 0.10000000000000001,
// yet every digit given where the last ones decide (19.465477974811666 in a float product that
// rounds to 1, 0.99999999999 that a float rounds to 1), which %g's six would hide. Below 10^6
// its whole part is written out (50, not the 5e+01 of one significant digit).
static const char *exact(char buf[32], double x) {
    int whole_digits = fabs(x) >= 1 && fabs(x) < 1e6 ? (int)floor(log10(fabs(x))) + 1 : 1;
    for (int digits = 1; digits <= 17; digits++) {
        snprintf(buf, 32, "%.*g", digits > whole_digits ? digits : whole_digits, x);
        if (strtod(buf, NULL) == x) break;
    }
    return buf;
}

#define CHECK(cond, ...) do { if (!(cond)) return ddpm_set_error(DDPM_ERR_CONFIG, __VA_ARGS__); } while (0)

int ddpm_config_validate(const DDPMConfig *c) {
    char x1[32], x2[32];  // (exact's buffers, for a refusal's values)
    CHECK(c->T >= 2 && c->T <= 1000, "config: T must be in 2..1000 (got %d)", c->T);
    CHECK(c->image_size >= 2 && c->image_size <= 64 && c->image_size % 2 == 0,
          "config: image_size must be even, in 2..64 (got %d)", c->image_size);
    CHECK(c->hidden >= 4 && c->hidden <= 8192 && c->hidden % 4 == 0,
          "config: hidden must be a multiple of 4 in 4..8192 (got %d)", c->hidden);
    CHECK(c->temb_dim >= 8 && c->temb_dim <= 1024 && c->temb_dim % 8 == 0,
          "config: temb_dim must be a multiple of 8 in 8..1024 (got %d)", c->temb_dim);
    CHECK(c->activation == ACT_SILU || c->activation == ACT_RELU, "config: unknown activation %d", c->activation);
    CHECK(c->predict == PREDICT_EPS || c->predict == PREDICT_X0, "config: unknown predict %d", c->predict);
    CHECK(c->schedule >= SCHEDULE_LINEAR && c->schedule <= SCHEDULE_COSINE, "config: unknown schedule %d", c->schedule);
    CHECK(isfinite(c->beta_start) && isfinite(c->beta_end), "config: beta_start and beta_end must be finite numbers");
    CHECK(c->max_batch >= 1 && c->max_batch <= 1024, "config: max_batch must be in 1..1024 (got %d)", c->max_batch);
    // a batch larger than max_batch is fed in micro-batches of max_batch (same bits)
    CHECK(c->batch >= 1 && c->batch <= 65536, "config: batch must be in 1..65536 (got %d)", c->batch);
    CHECK(c->steps >= 0 && c->steps <= MAX_STEPS, "config: steps must be in 0..%d (got %d)", MAX_STEPS, c->steps);
    // AdamW runs in float: a value float cannot hold would become Inf or 0 there (an lr of 1e39
    // turns every weight to Inf at the first update; an adam_eps of 1e-50 divides 0 by 0 for a
    // parameter whose gradient is always 0)
    CHECK(isfinite((float)c->lr) && (float)c->lr > 0,
          "config: lr must be a finite number > 0 that a float holds, 1.4e-45 to 3.4e38 (got %s)", exact(x1, c->lr));
    CHECK(isfinite(c->beta1) && c->beta1 >= 0 && c->beta1 < 1, "config: beta1 must be in [0, 1) (got %s)", exact(x1, c->beta1));
    CHECK(isfinite(c->beta2) && c->beta2 >= 0 && c->beta2 < 1, "config: beta2 must be in [0, 1) (got %s)", exact(x1, c->beta2));
    // AdamW uses them as floats: 0.99999999999 is below 1 but rounds to 1.0f, and then m (beta1)
    // or v (beta2) never moves from 0, with no error
    CHECK((float)c->beta1 < 1.0f, "config: beta1 = %s rounds to 1 as a float, where AdamW uses it (at most 0.99999994)", exact(x1, c->beta1));
    CHECK((float)c->beta2 < 1.0f, "config: beta2 = %s rounds to 1 as a float, where AdamW uses it (at most 0.99999994)", exact(x1, c->beta2));
    // Only then is m / sqrt(v) bounded (checkpoint.c, check_moments): with beta2 = 0, a weight
    // whose gradient falls to 0 keeps its m while v drops to 0, and m / (0 + eps) overflowed the
    // weights to Inf at a small eps. (beta1 = 0 keeps m = g, bounded by any beta2.)
    CHECK((float)c->beta1 == 0.0f || (double)(float)c->beta1 * (float)c->beta1 < (float)c->beta2,
          "config: AdamW needs beta1^2 < beta2 (got beta1 = %s, beta2 = %s): otherwise m / sqrt(v) has no bound, and an "
          "update can overflow the weights", exact(x1, c->beta1), exact(x2, c->beta2));
    CHECK(isfinite((float)c->adam_eps) && (float)c->adam_eps > 0,
          "config: adam_eps must be a finite number > 0 that a float holds, 1.4e-45 to 3.4e38 (got %s)", exact(x1, c->adam_eps));
    CHECK(isfinite(c->weight_decay) && c->weight_decay >= 0,
          "config: weight_decay must be a finite number >= 0 (got %s)", exact(x1, c->weight_decay));
    // decoupled decay multiplies every weight by 1 - lr * weight_decay at each step, computed in
    // float as AdamW computes it (kernels.c): lr = 0.051373, weight_decay = 19.465477974811666 give
    // 0.99999999999999978 in double, but a product that rounds to 1.0000001f, a negative decay.
    // (A cosine lr only shrinks the product.)
    CHECK(isfinite((float)c->weight_decay) && 1.0f - (float)c->lr * (float)c->weight_decay > 0.0f,
          "config: lr * weight_decay must be < 1 as a float product, where AdamW computes it: at 1 the decay zeroes "
          "the weights, above it flips their sign (lr = %s, weight_decay = %s)",
          exact(x1, c->lr), exact(x2, c->weight_decay));
    CHECK(c->lr_schedule == LR_CONSTANT || c->lr_schedule == LR_COSINE, "config: unknown lr_schedule %d", c->lr_schedule);
    CHECK(isfinite(c->lr_min_frac) && c->lr_min_frac >= 0 && c->lr_min_frac <= 1,
          "config: lr_min_frac must be in [0, 1] (got %s)", exact(x1, c->lr_min_frac));
    CHECK(isfinite(c->ema_decay) && c->ema_decay >= 0 && c->ema_decay < 1,
          "config: ema_decay must be in [0, 1) (got %s)", exact(x1, c->ema_decay));
    // (as a float, 1.0 would leave the EMA at the initial weights for ever)
    CHECK((float)c->ema_decay < 1.0f,
          "config: ema_decay = %s rounds to 1 as a float, where the EMA uses it (at most 0.99999994)", exact(x1, c->ema_decay));
    CHECK(c->sigma == SIGMA_BETA || c->sigma == SIGMA_BETA_TILDE, "config: unknown sigma %d", c->sigma);
    CHECK(c->clip_x0 == 0 || c->clip_x0 == 1, "config: clip_x0 must be 0 or 1 (got %d)", c->clip_x0);
    // the betas themselves: build the schedule once and throw it away
    Schedule s;
    int err = schedule_init(&s, c);
    if (err) return err;
    schedule_free(&s);
    return DDPM_OK;
}

// ---------------------------------------------------------------------------
// setting a field by name from text: the one door for the CLI, the page and the tests

typedef struct { const char *name; int value; } Name;
static const Name SCHEDULES[] = { {"linear", SCHEDULE_LINEAR}, {"linear-scaled", SCHEDULE_LINEAR_SCALED},
                                  {"cosine", SCHEDULE_COSINE}, {NULL, 0} };
static const Name ACTIVATIONS[] = { {"silu", ACT_SILU}, {"relu", ACT_RELU}, {NULL, 0} };
static const Name PREDICTS[] = { {"eps", PREDICT_EPS}, {"x0", PREDICT_X0}, {NULL, 0} };
static const Name SIGMAS[] = { {"beta", SIGMA_BETA}, {"beta-tilde", SIGMA_BETA_TILDE}, {NULL, 0} };
static const Name LR_SCHEDULES[] = { {"constant", LR_CONSTANT}, {"cosine", LR_COSINE}, {NULL, 0} };

const char *ddpm_choice_name(const char *key, int value) {
    const Name *names = strcmp(key, "schedule") == 0 ? SCHEDULES : strcmp(key, "activation") == 0 ? ACTIVATIONS
                      : strcmp(key, "predict") == 0 ? PREDICTS : strcmp(key, "sigma") == 0 ? SIGMAS
                      : strcmp(key, "lr_schedule") == 0 ? LR_SCHEDULES : NULL;
    for (const Name *n = names; n && n->name; n++)
        if (n->value == value) return n->name;
    return NULL;
}

static int parse_name(const Name *names, const char *key, const char *text, int *out) {
    for (const Name *n = names; n->name; n++)
        if (strcmp(n->name, text) == 0) { *out = n->value; return DDPM_OK; }
    char choices[160] = "";
    for (const Name *n = names; n->name; n++) {
        strncat(choices, n->name, sizeof choices - strlen(choices) - 1);
        if (n[1].name) strncat(choices, ", ", sizeof choices - strlen(choices) - 1);
    }
    return ddpm_set_error(DDPM_ERR_CONFIG, "config: %s must be one of %s (got '%s')", key, choices, text);
}

// Written in plain decimal: [+-] digits [. digits] [e [+-] digits], or [+-] . digits [e ...].
// strtod also reads hexadecimal ('0x1.4p3' is 10), which JavaScript's Number() reads as NaN: the
// wrapper, which keeps the numbers it passed, would have kept NaN for a T that C took as 10.
static int is_decimal(const char *s) {
    int digits = 0;
    if (*s == '+' || *s == '-') s++;
    for (; isdigit((unsigned char)*s); s++) digits++;
    if (*s == '.')
        for (s++; isdigit((unsigned char)*s); s++) digits++;
    if (digits == 0) return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') s++;
        if (!isdigit((unsigned char)*s)) return 0;
        while (isdigit((unsigned char)*s)) s++;
    }
    return *s == '\0';
}

static int parse_number(const char *key, const char *text, double *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end != '\0')
        return ddpm_set_error(DDPM_ERR_CONFIG, "config: %s must be a number (got '%s')", key, text);
    if (!isfinite(v))
        return ddpm_set_error(DDPM_ERR_CONFIG, "config: %s must be a finite number (got '%s')", key, text);
    if (!is_decimal(text))
        return ddpm_set_error(DDPM_ERR_CONFIG, "config: %s must be a plain decimal number, no spaces (got '%s')", key, text);
    // '1e-400' reads as 0: validation would then report "got 0" for a value nobody typed
    if (errno == ERANGE && v == 0)
        return ddpm_set_error(DDPM_ERR_CONFIG, "config: %s = '%s' is too small for a double: it reads as 0", key, text);
    *out = v;
    return DDPM_OK;
}

static int parse_int(const char *key, const char *text, int *out) {
    double v = 0;
    int err = parse_number(key, text, &v);
    if (err) return err;
    if (v != floor(v)) return ddpm_set_error(DDPM_ERR_CONFIG, "config: %s must be an integer (got '%s')", key, text);
    if (v < -2147483647.0 || v > 2147483647.0)
        return ddpm_set_error(DDPM_ERR_CONFIG, "config: %s must be an integer from -2147483647 to 2147483647 (got '%s')", key, text);
    *out = (int)v;
    return DDPM_OK;
}

int ddpm_config_set(DDPMConfig *c, const char *key, const char *text) {
    struct { const char *name; int *field; } ints[] = {
        {"image_size", &c->image_size}, {"hidden", &c->hidden}, {"temb_dim", &c->temb_dim},
        {"T", &c->T}, {"batch", &c->batch}, {"max_batch", &c->max_batch}, {"steps", &c->steps},
        {"clip_x0", &c->clip_x0},
    };
    struct { const char *name; double *field; } doubles[] = {
        {"beta_start", &c->beta_start}, {"beta_end", &c->beta_end}, {"lr", &c->lr},
        {"beta1", &c->beta1}, {"beta2", &c->beta2}, {"adam_eps", &c->adam_eps},
        {"weight_decay", &c->weight_decay}, {"lr_min_frac", &c->lr_min_frac}, {"ema_decay", &c->ema_decay},
    };
    struct { const char *name; const Name *names; int *field; } enums[] = {
        {"schedule", SCHEDULES, &c->schedule}, {"activation", ACTIVATIONS, &c->activation},
        {"predict", PREDICTS, &c->predict}, {"sigma", SIGMAS, &c->sigma},
        {"lr_schedule", LR_SCHEDULES, &c->lr_schedule},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
        if (strcmp(key, ints[i].name) == 0) return parse_int(key, text, ints[i].field);
    for (size_t i = 0; i < sizeof doubles / sizeof doubles[0]; i++)
        if (strcmp(key, doubles[i].name) == 0) return parse_number(key, text, doubles[i].field);
    for (size_t i = 0; i < sizeof enums / sizeof enums[0]; i++)
        if (strcmp(key, enums[i].name) == 0) return parse_name(enums[i].names, key, text, enums[i].field);
    if (strcmp(key, "seed") == 0) {
        double v = 0;
        int err = parse_number(key, text, &v);
        if (err) return err;
        if (v != floor(v) || v < 0 || v > 4294967295.0)
            return ddpm_set_error(DDPM_ERR_CONFIG, "config: seed must be an integer in 0..4294967295 (got '%s')", text);
        c->seed = (uint32_t)v;
        return DDPM_OK;
    }
    return ddpm_set_error(DDPM_ERR_CONFIG, "config: unknown setting '%s'", key);
}
