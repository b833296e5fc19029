// wasm.c -- the boundary: the functions the JS wrapper (web/ddpm.mjs) calls.
// Plain pass-throughs plus getters for what JS reads out of wasm memory. No maths here.
#include <stdlib.h>
#include <string.h>
#include "ddpm.h"
#ifdef __EMSCRIPTEN__
#include <emscripten.h>
#include <malloc.h>
#else
#define EMSCRIPTEN_KEEPALIVE
#endif

// the bytes malloc has handed out and not had back, for the tests that hold training and
// sampling to allocating nothing (the heap's size alone moves only when memory grows: a leak of a
// megabyte a step went unseen for dozens of steps)
#ifdef __EMSCRIPTEN__
EMSCRIPTEN_KEEPALIVE double w_heap_in_use(void) { return (double)mallinfo().uordblks; }
#endif

// configuration
EMSCRIPTEN_KEEPALIVE DDPMConfig *w_config_new(void) {
    DDPMConfig *c = malloc(sizeof *c);
    if (c) ddpm_config_default(c);
    return c;
}
EMSCRIPTEN_KEEPALIVE int w_config_set(DDPMConfig *c, const char *key, const char *value) { return ddpm_config_set(c, key, value); }
EMSCRIPTEN_KEEPALIVE int w_config_validate(DDPMConfig *c) { return ddpm_config_validate(c); }
EMSCRIPTEN_KEEPALIVE void w_config_free(DDPMConfig *c) { free(c); }
EMSCRIPTEN_KEEPALIVE const char *w_last_error(void) { return ddpm_last_error(); }

// the model
EMSCRIPTEN_KEEPALIVE DDPM *w_create(DDPMConfig *c) { return ddpm_create(c); }
EMSCRIPTEN_KEEPALIVE void w_free(DDPM *m) { ddpm_free(m); }
EMSCRIPTEN_KEEPALIVE int w_num_params(DDPM *m) { return (int)m->shape.num_params; }
EMSCRIPTEN_KEEPALIVE int w_image_floats(DDPM *m) { return m->shape.D; }
EMSCRIPTEN_KEEPALIVE double w_model_memory_bytes(DDPM *m) { return (double)ddpm_memory_bytes(&m->cfg); }
EMSCRIPTEN_KEEPALIVE int w_step(DDPM *m) { return m->step; }
EMSCRIPTEN_KEEPALIVE int w_batch_filled(DDPM *m) { return m->batch_filled; }
EMSCRIPTEN_KEEPALIVE float w_current_lr(DDPM *m) { return ddpm_current_lr(m); }
EMSCRIPTEN_KEEPALIVE float *w_loss_history(DDPM *m) { return m->loss_history; }
EMSCRIPTEN_KEEPALIVE float *w_image(DDPM *m) { return m->x0; }
EMSCRIPTEN_KEEPALIVE float *w_params(DDPM *m) { return m->param_memory; }
EMSCRIPTEN_KEEPALIVE void w_params_changed(DDPM *m) { ddpm_params_changed(m); }
EMSCRIPTEN_KEEPALIVE int w_next_forward_ready(DDPM *m) { return ddpm_next_forward_ready(m); }
EMSCRIPTEN_KEEPALIVE float *w_grads(DDPM *m) { return m->grad_memory; }
EMSCRIPTEN_KEEPALIVE float *w_adam_m(DDPM *m) { return m->m_memory; }
EMSCRIPTEN_KEEPALIVE float *w_adam_v(DDPM *m) { return m->v_memory; }
EMSCRIPTEN_KEEPALIVE float *w_ema(DDPM *m) { return m->ema_memory; }
// the size (in floats) of each parameter tensor inside w_params, in checkpoint order
EMSCRIPTEN_KEEPALIVE int w_tensor_size(DDPM *m, int i) { return i >= 0 && i < NUM_PARAM_TENSORS ? (int)m->shape.sizes[i] : -1; }
EMSCRIPTEN_KEEPALIVE int w_set_image(DDPM *m, const float *img, int n) { return ddpm_set_image(m, img, n); }
EMSCRIPTEN_KEEPALIVE int w_set_sampling(DDPM *m, int sigma, int clip_x0) { return ddpm_set_sampling(m, sigma, clip_x0); }

// schedule arrays, (T+1) floats each, by index in the order of the Schedule struct
EMSCRIPTEN_KEEPALIVE float *w_schedule_array(DDPM *m, int i) {
    float **slots[SCHEDULE_ARRAYS];
    schedule_array_slots(&m->sched, slots);
    return i >= 0 && i < SCHEDULE_ARRAYS ? *slots[i] : NULL;
}
// n draws of the engine's own normal sampler, from a fresh generator (for statistical tests)
EMSCRIPTEN_KEEPALIVE void w_rng_normal(float *out, int n, double seed) {
    Rng rng;
    rng_seed(&rng, (uint64_t)seed, 0);
    rng_normal(&rng, out, n);
}
EMSCRIPTEN_KEEPALIVE void w_timestep_embedding(float *out, int t, int dim) { timestep_embedding(out, t, dim); }
// (t is checked here too, not only in the wrapper: an index past the schedule would read
// outside it)
EMSCRIPTEN_KEEPALIVE int w_q_sample(DDPM *m, float *xt, const float *x0, const float *eps, int t) {
    if (t < 0 || t > m->cfg.T) return ddpm_set_error(DDPM_ERR_ARGUMENT, "q_sample: t must be in 0..%d (got %d)", m->cfg.T, t);
    q_sample(&m->sched, xt, x0, eps, t, m->shape.D);
    return DDPM_OK;
}

// training
EMSCRIPTEN_KEEPALIVE int w_train_work(DDPM *m, int max_samples, int max_params) { return ddpm_train_work(m, max_samples, max_params); }
EMSCRIPTEN_KEEPALIVE int w_update_pos(DDPM *m) { return (int)m->update_pos; }
EMSCRIPTEN_KEEPALIVE int w_train_steps(DDPM *m, int steps) { return ddpm_train_steps(m, steps); }
EMSCRIPTEN_KEEPALIVE int w_set_steps(DDPM *m, int steps) { return ddpm_set_steps(m, steps); }
EMSCRIPTEN_KEEPALIVE int w_loss_and_grad(DDPM *m, const float *xt, const int *ts, const float *target, int B, float *loss) {
    return ddpm_loss_and_grad(m, xt, ts, target, B, loss);
}
EMSCRIPTEN_KEEPALIVE int w_train_step_explicit(DDPM *m, const int *ts, const float *eps, int B, float *loss) {
    return ddpm_train_step_explicit(m, ts, eps, B, loss);
}
EMSCRIPTEN_KEEPALIVE int w_denoise(DDPM *m, const float *xt, const int *ts, int B, float *out, int use_ema) {
    return ddpm_denoise(m, xt, ts, B, out, use_ema);
}

// sampling
EMSCRIPTEN_KEEPALIVE int w_sample_begin(DDPM *m, int n, double seed, int sigma, int clip, int use_ema) {
    return ddpm_sample_begin(m, n, (uint32_t)seed, sigma, clip, use_ema);
}
EMSCRIPTEN_KEEPALIVE int w_sample_continue(DDPM *m, int max_steps) { return ddpm_sample_continue(m, max_steps); }
EMSCRIPTEN_KEEPALIVE float *w_sample_images(DDPM *m) { return m->x_buf; }
EMSCRIPTEN_KEEPALIVE float w_sample_output_peak(DDPM *m) { return m->sampler.output_peak; }
EMSCRIPTEN_KEEPALIVE int w_sample_output_peak_t(DDPM *m) { return m->sampler.output_peak_t; }
EMSCRIPTEN_KEEPALIVE float w_sample_output_peak_input(DDPM *m) { return m->sampler.output_peak_input; }
EMSCRIPTEN_KEEPALIVE float w_sample_in_range_peak(DDPM *m) { return m->sampler.in_range_peak; }
EMSCRIPTEN_KEEPALIVE int w_sample_in_range_peak_t(DDPM *m) { return m->sampler.in_range_peak_t; }
EMSCRIPTEN_KEEPALIVE float w_sample_in_range_peak_input(DDPM *m) { return m->sampler.in_range_peak_input; }
// the bounds the sampler judges by, for a test to hold the page's to them (c/ddpm.h)
EMSCRIPTEN_KEEPALIVE float w_xt_far_bound(DDPM *m, int t) { return t >= 0 && t <= m->cfg.T ? sampler_xt_far_bound(&m->sched, t) : -1.0f; }
EMSCRIPTEN_KEEPALIVE float w_output_blown_up(void) { return OUTPUT_BLOWN_UP; }
EMSCRIPTEN_KEEPALIVE float *w_traj(DDPM *m, int which) {  // 0: x_t, 1: eps_pred, 2: x0_pred
    if (which < 0 || which > 2) {
        ddpm_set_error(DDPM_ERR_ARGUMENT, "traj: which must be 0, 1 or 2 (got %d)", which);
        return NULL;
    }
    return which == 0 ? m->traj_x : which == 1 ? m->traj_eps : m->traj_x0;
}
EMSCRIPTEN_KEEPALIVE int w_reverse_step(DDPM *m, float *x_prev, float *x0_pred, const float *xt, const float *eps_pred,
                                        const float *z, int t, int sigma, int clip) {
    if (t < 1 || t > m->cfg.T) return ddpm_set_error(DDPM_ERR_ARGUMENT, "reverse_step: t must be in 1..%d (got %d)", m->cfg.T, t);
    if (sigma != SIGMA_BETA && sigma != SIGMA_BETA_TILDE) return ddpm_set_error(DDPM_ERR_ARGUMENT, "reverse_step: unknown sigma %d", sigma);
    if (clip != 0 && clip != 1) return ddpm_set_error(DDPM_ERR_ARGUMENT, "reverse_step: clip must be 0 or 1 (got %d)", clip);
    reverse_step(&m->sched, x_prev, x0_pred, xt, eps_pred, z, t, m->shape.D, sigma, clip);
    return DDPM_OK;
}

// checkpoints
EMSCRIPTEN_KEEPALIVE double w_checkpoint_size(DDPM *m, int with_optimizer) { return (double)ddpm_checkpoint_size(m, with_optimizer); }
EMSCRIPTEN_KEEPALIVE double w_checkpoint_max_size(const DDPMConfig *cfg) { return (double)ddpm_checkpoint_max_size(cfg); }
EMSCRIPTEN_KEEPALIVE double w_model_checkpoint_max_size(DDPM *m) { return (double)ddpm_checkpoint_max_size(&m->cfg); }
EMSCRIPTEN_KEEPALIVE int w_max_steps(void) { return MAX_STEPS; }
EMSCRIPTEN_KEEPALIVE int w_checkpoint_save(DDPM *m, uint8_t *buf, double cap, int with_optimizer) {
    return ddpm_checkpoint_save(m, buf, (size_t)cap, with_optimizer);
}
EMSCRIPTEN_KEEPALIVE int w_checkpoint_load(DDPM *m, const uint8_t *buf, double len) {
    return ddpm_checkpoint_load(m, buf, (size_t)len);
}

// kernels, for the tests that hold the SIMD versions and their scalar twins together
EMSCRIPTEN_KEEPALIVE int w_have_simd(void) { return kernels_have_simd(); }
EMSCRIPTEN_KEEPALIVE void w_force_scalar(int on) { kernels_force_scalar(on); }
EMSCRIPTEN_KEEPALIVE void w_force_unfused(int on) { ddpm_force_unfused(on); }
// the batched kernels' tiles alone, for the benchmark's limits (c/kernels.c): which 0 outer, 1 dots
EMSCRIPTEN_KEEPALIVE float w_tile_probe(int which, int reps) { return kernels_tile_probe(which, reps); }
EMSCRIPTEN_KEEPALIVE int w_tile_probe_flops(void) { return KERNELS_TILE_PROBE_FLOPS; }
// The SIMD loops have no tail (ddpm.h, kernels.c): a length that is no multiple of 4 is refused
// here, where a test could pass one, rather than read and write past its buffer.
static int multiple_of_4(const char *kernel, const char *name, long n) {
    if (n >= 0 && n % 4 == 0) return 1;
    ddpm_set_error(DDPM_ERR_ARGUMENT, "%s: %s must be a multiple of 4, the SIMD loops' width (got %ld)", kernel, name, n);
    return 0;
}
static int outer_lengths_ok(int C, int lo, int hi) {
    return multiple_of_4("adamw_update_outer", "C", C) && multiple_of_4("adamw_update_outer", "lo", lo) &&
           multiple_of_4("adamw_update_outer", "hi", hi);
}
EMSCRIPTEN_KEEPALIVE int w_matmul_forward(float *out, const float *inp, const float *W, const float *bias, int B, int C, int OC) {
    if (!multiple_of_4("matmul_forward", "C", C)) return DDPM_ERR_ARGUMENT;
    matmul_forward(out, inp, W, bias, B, C, OC);
    return DDPM_OK;
}
EMSCRIPTEN_KEEPALIVE int w_matmul_backward(float *dinp, float *dW, float *dbias, const float *dout, const float *inp,
                                           const float *W, int B, int C, int OC) {
    if (!multiple_of_4("matmul_backward", "C", C)) return DDPM_ERR_ARGUMENT;
    matmul_backward(dinp, dW, dbias, dout, inp, W, B, C, OC);
    return DDPM_OK;
}
EMSCRIPTEN_KEEPALIVE int w_act_forward(float *out, const float *inp, int n, int activation) {
    if (!multiple_of_4("act_forward", "n", n)) return DDPM_ERR_ARGUMENT;
    act_forward(out, inp, n, activation);
    return DDPM_OK;
}
EMSCRIPTEN_KEEPALIVE int w_act_backward(float *dinp, const float *inp, const float *dout, int n, int activation) {
    if (!multiple_of_4("act_backward", "n", n)) return DDPM_ERR_ARGUMENT;
    act_backward(dinp, inp, dout, n, activation);
    return DDPM_OK;
}
// (the arrays first, then the numbers: the order Engine.kernel passes them in)
EMSCRIPTEN_KEEPALIVE int w_adamw_update_outer(float *param, float *m, float *v, const float *dout, const float *inp,
                                              int ldd, int ldx, int B, int C, int lo, int hi, float lr,
                                              float beta1, float beta2, float eps, float wd, float bc1, float bc2) {
    if (!outer_lengths_ok(C, lo, hi)) return DDPM_ERR_ARGUMENT;
    AdamWStep h = { lr, beta1, beta2, eps, wd, bc1, bc2 };
    adamw_update_outer(param, m, v, dout, ldd, inp, ldx, B, C, lo, hi, &h, NULL, NULL);
    return DDPM_OK;
}
// the same at batch 1 with the next step's dots (next_inp (C) -> next_out (OC))
EMSCRIPTEN_KEEPALIVE int w_adamw_update_outer_next(float *param, float *m, float *v, const float *dout, const float *inp,
                                                   const float *next_inp, float *next_out, int C, int lo, int hi, float lr,
                                                   float beta1, float beta2, float eps, float wd, float bc1, float bc2) {
    if (!outer_lengths_ok(C, lo, hi)) return DDPM_ERR_ARGUMENT;
    AdamWStep h = { lr, beta1, beta2, eps, wd, bc1, bc2 };
    adamw_update_outer(param, m, v, dout, 1, inp, C, 1, C, lo, hi, &h, next_inp, next_out);
    return DDPM_OK;
}
// any n >= 0 (its SIMD loop has a tail)
EMSCRIPTEN_KEEPALIVE int w_moments_flush(float *m, float *v, int n) {
    if (n < 0) {
        ddpm_set_error(DDPM_ERR_ARGUMENT, "moments_flush: n must be >= 0 (got %d)", n);
        return DDPM_ERR_ARGUMENT;
    }
    moments_flush(m, v, (size_t)n);
    return DDPM_OK;
}
EMSCRIPTEN_KEEPALIVE void w_normals_from_bits(float *out, const uint32_t *bits, int n) { normals_from_bits(out, bits, n); }
EMSCRIPTEN_KEEPALIVE int w_adamw_update(float *param, const float *grad, float *m, float *v, int n, float lr, float beta1,
                                        float beta2, float eps, float wd, float bc1, float bc2) {
    if (!multiple_of_4("adamw_update", "n", n)) return DDPM_ERR_ARGUMENT;
    AdamWStep h = { lr, beta1, beta2, eps, wd, bc1, bc2 };
    adamw_update(param, grad, m, v, n, &h);
    return DDPM_OK;
}
