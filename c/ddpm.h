// ddpm.h -- the one public header of a DDPM written from first principles.
//
// One training image, a 3-layer MLP denoiser with an additive sinusoidal
// timestep embedding, a linear (or cosine) beta schedule, AdamW, and DDPM
// ancestral sampling that keeps every state of the (first image's) reverse chain.
//
// Conventions used everywhere:
//   - an image is D = S*S*3 floats in [-1, 1], laid out HWC:
//       index = (y * S + x) * 3 + channel,  channel 0 = R, 1 = G, 2 = B
//   - Linear layers store W as (out, in) row-major and compute out = W inp + b
//   - timesteps t run 1..T; arrays indexed by t have T+1 entries, entry 0
//     being the "no noise" state (alpha_bar[0] = 1)
//   - every function that can fail returns 0 on success or a DDPM_ERR_* code
//     (those that return a count, ddpm_train_work and ddpm_sample_continue, return
//     -code; ddpm_create returns NULL), and leaves a human-readable message in
//     ddpm_last_error().
#ifndef DDPM_H
#define DDPM_H

#include <stddef.h>
#include <stdint.h>

// ---------------------------------------------------------------------------
// errors

enum {
    DDPM_OK = 0,
    DDPM_ERR_CONFIG = 1,      // an invalid configuration value (named in the message)
    DDPM_ERR_SCHEDULE = 2,    // a schedule whose betas leave (0, 1), or whose alpha_bar leaves a float's range
    DDPM_ERR_MEMORY = 3,      // allocation failed
    DDPM_ERR_IMAGE = 4,       // a training image of the wrong size or with values outside [-1, 1]
    DDPM_ERR_DIVERGED = 5,    // training: loss or gradient became NaN/Inf (or too large for AdamW), step refused, last
                              // good weights kept; sampling: x_t no longer finite; save: weights that are not finite
    DDPM_ERR_CHECKPOINT = 6,  // a corrupt, truncated or mismatched checkpoint; model untouched
    DDPM_ERR_ARGUMENT = 7,    // a bad argument to an API call (t out of range, n too large, ...)
};

// The message of the last error (one buffer for every model: thread-local is not needed, as
// everything runs on one thread).
const char *ddpm_last_error(void);
int ddpm_set_error(int code, const char *fmt, ...);

// ---------------------------------------------------------------------------
// configuration

enum { SCHEDULE_LINEAR = 0, SCHEDULE_LINEAR_SCALED = 1, SCHEDULE_COSINE = 2 };
enum { ACT_SILU = 0, ACT_RELU = 1 };
enum { PREDICT_EPS = 0, PREDICT_X0 = 1 };
enum { SIGMA_BETA = 0, SIGMA_BETA_TILDE = 1 };
enum { LR_CONSTANT = 0, LR_COSINE = 1 };
#define MAX_STEPS 1000000   // the most optimiser steps a config plans (config.c), and a file holds

typedef struct {
    // data and network
    int image_size;       // S: the image is S x S x 3 (16)
    int hidden;           // width of both hidden layers (1024), a multiple of 4
    int temb_dim;         // sinusoidal embedding size (128), a multiple of 8
    int activation;       // ACT_SILU (default) or ACT_RELU
    int predict;          // PREDICT_EPS (paper) or PREDICT_X0
    // diffusion
    int T;                // number of diffusion steps, 2..1000
    int schedule;         // SCHEDULE_*
    double beta_start;    // beta_1 of the linear schedules (1e-4)
    double beta_end;      // beta_T of the linear schedules (0.02)
    // training
    int batch;            // (t, eps) draws per optimiser step (1 in the paper)
    int max_batch;        // largest batch any call may use (sizes the activation buffers)
    int steps;            // planned optimiser steps (for the cosine learning-rate decay)
    double lr;            // AdamW learning rate (1e-3)
    double beta1, beta2;  // AdamW moment decays (0.9, 0.999)
    double adam_eps;      // AdamW epsilon (1e-8)
    double weight_decay;  // decoupled weight decay (0.01)
    int lr_schedule;      // LR_CONSTANT or LR_COSINE (decay to lr_min_frac * lr over `steps`)
    double lr_min_frac;   // final fraction of lr under cosine decay (0.0)
    double ema_decay;     // 0 = no EMA; else the EMA of the weights is kept and used for sampling
    // sampling: defaults for the callers of ddpm_sample, which takes its own sigma and clip; a
    // checkpoint (version 2) records them, and ddpm_set_sampling sets them on a model
    int sigma;            // SIGMA_BETA (paper) or SIGMA_BETA_TILDE
    int clip_x0;          // clip the predicted x0 to [-1, 1] in the reverse step
    // randomness
    uint32_t seed;        // seeds initialisation and training draws
} DDPMConfig;

void ddpm_config_default(DDPMConfig *cfg);           // the paper's table
int  ddpm_config_validate(const DDPMConfig *cfg);     // DDPM_OK or DDPM_ERR_CONFIG/SCHEDULE
// set one field from text, e.g. ("lr", "1e-3"), ("schedule", "cosine"); unknown keys and
// unparsable or non-finite values are refused by name
int  ddpm_config_set(DDPMConfig *cfg, const char *key, const char *text);
// the name ddpm_config_set takes for a choice's value, e.g. ("predict", PREDICT_X0) -> "x0"; NULL if none
const char *ddpm_choice_name(const char *key, int value);

// ---------------------------------------------------------------------------
// rng.c -- a seeded PCG32 generator with explicit state

typedef struct { uint64_t state, inc; } Rng;

void     rng_seed(Rng *rng, uint64_t seed, uint64_t stream);
uint32_t rng_u32(Rng *rng);
float    rng_uniform(Rng *rng);                 // [0, 1)
int      rng_int(Rng *rng, int lo, int hi);     // uniform integer in [lo, hi]
void     rng_normal(Rng *rng, float *out, int n); // N(0, 1) by Box-Muller (normals_from_bits), in pairs

// ---------------------------------------------------------------------------
// schedule.c -- betas and everything derived from them, computed in double, stored as float

typedef struct {
    int T;
    float *beta;               // (T+1) beta[0] = 0
    float *alpha;              // (T+1) 1 - beta
    float *alpha_bar;          // (T+1) prod_{s<=t} alpha_s, alpha_bar[0] = 1
    float *sqrt_alpha_bar;     // (T+1) signal coefficient of q(x_t | x_0)
    float *sqrt_one_minus_alpha_bar; // (T+1) noise coefficient of q(x_t | x_0)
    float *posterior_variance; // (T+1) beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) * beta_t
    float *posterior_coef_x0;  // (T+1) beta_t sqrt(alpha_bar_{t-1}) / (1 - alpha_bar_t)
    float *posterior_coef_xt;  // (T+1) (1 - alpha_bar_{t-1}) sqrt(alpha_t) / (1 - alpha_bar_t)
    float *eps_coef;           // (T+1) beta_t / sqrt(1 - alpha_bar_t), in Ho et al.'s mean (Algorithm 2)
    float *inv_sqrt_alpha;     // (T+1) 1 / sqrt(alpha_t)
    float *log_snr;            // (T+1) log(alpha_bar_t / (1 - alpha_bar_t)); NaN at t = 0 (infinite)
} Schedule;

#define SCHEDULE_ARRAYS 11   // the (T+1) arrays above, beta to log_snr
int  schedule_init(Schedule *s, const DDPMConfig *cfg);
void schedule_free(Schedule *s);
// the addresses of the arrays, in the order of the struct (the order web/ddpm.mjs names them)
void schedule_array_slots(Schedule *s, float **slots[SCHEDULE_ARRAYS]);


// ---------------------------------------------------------------------------
// kernels.c -- the hot loops, each with a SIMD version and a plain scalar twin.
// The twins use the same summation order, so they agree bit for bit.
// Lengths: the SIMD loops run 4 floats at a time and have no tail, so every C below, the n of
// the activations and of adamw_update, and lo, hi of adamw_update_outer are multiples of 4 (the
// config makes sure of it for the model; OC and B may be anything).

// out (B,OC) = inp (B,C) W^T (OC,C) + bias (OC): matmul_dots, then add_bias
void matmul_forward(float *out, const float *inp, const float *W, const float *bias, int B, int C, int OC);
// out (B,OC) = inp (B,C) W^T (OC,C), the rows of out ldo floats apart (ldo >= OC: a block of
// rows of W fills a block of columns of a wider output)
void matmul_dots(float *out, int ldo, const float *inp, const float *W, int B, int C, int OC);
// out (B,OC) += bias (OC)
void add_bias(float *out, const float *bias, int B, int OC);
// the largest |x| of n floats, or NaN if any is NaN (a plain max would skip it): the bounds and
// checks of training (train.c) and the sampler's refusals (sampler.c)
float max_abs(const float *x, size_t n);
// dinp (B,C) = dout (B,OC) W (OC,C)            (overwritten; skipped if dinp == NULL)
// dW (OC,C) += dout^T inp, dbias (OC) += sum_b dout   (accumulated, b in order; dW skipped if NULL)
void matmul_backward(float *dinp, float *dW, float *dbias, const float *dout, const float *inp,
                     const float *W, int B, int C, int OC);
// activation forward/backward over n values
void act_forward(float *out, const float *inp, int n, int activation);
void act_backward(float *dinp, const float *inp, const float *dout, int n, int activation);
// the constants of one AdamW step; the bias corrections 1 - beta^t are computed by the caller
typedef struct { float lr, beta1, beta2, eps, weight_decay, bias_correction1, bias_correction2; } AdamWStep;
// one AdamW step over n parameters
void adamw_update(float *param, const float *grad, float *m, float *v, int n, const AdamWStep *h);
// AdamW on the elements [lo, hi) of a weight matrix (OC,C) whose gradient is a Linear layer's
// weight gradient over B samples, dW = dout^T inp (dout (B,OC) with rows ldd floats apart, inp
// (B,C) with rows ldx apart), formed element by element as ((0 + dout[0,o] inp[0,c]) +
// dout[1,o] inp[1,c]) + ..., exactly what matmul_backward leaves in a zeroed dW: the bits of
// adamw_update on that dW, without a dW buffer ever being written or read.
// lo, hi and C are multiples of 4.
// With next_inp (C) given (used at B = 1 only), also next_out[o] = the dot product of
// the updated row o with next_inp, for each row o whose elements all lie in [lo, hi), summed as
// matmul_dots sums: the next step's forward for that row, while the row is in registers (optimizer.c)
void adamw_update_outer(float *param, float *m, float *v, const float *dout, int ldd, const float *inp, int ldx,
                        int B, int C, long lo, long hi, const AdamWStep *h, const float *next_inp, float *next_out);

// AdamW's moments m (n) and v (n): |m| < 2^-100 and v < 2^-120 stored as +0, so that a moment
// whose gradient stays 0 never decays into subnormal floats, which cost x86 cores a microcode
// assist where they are used (kernels.c, "Subnormal floats"); any n. optimizer.c runs it every
// MOMENT_FLUSH_EVERY updates
void moments_flush(float *m, float *v, size_t n);
#define MOMENT_FLUSH_EVERY 16

// n N(0, 1) values from random words by Box-Muller in float: pair i of words (bits[2i] for the
// radius, bits[2i+1] for the angle) gives out[2i] = r cos(theta) and out[2i+1] = r sin(theta)
// (the sine dropped when n is odd); bits holds 2 ceil(n/2) words
void normals_from_bits(float *out, const uint32_t *bits, int n);

// the scalar twins, always compiled; the SIMD versions exist when built with -msimd128, or
// natively with -DDDPM_NATIVE_SIMD (SIMDe, c/simd.h)
void matmul_dots_scalar(float *out, int ldo, const float *inp, const float *W, int B, int C, int OC);
void matmul_backward_scalar(float *dinp, float *dW, float *dbias, const float *dout, const float *inp,
                            const float *W, int B, int C, int OC);
void act_forward_scalar(float *out, const float *inp, int n, int activation);
void act_backward_scalar(float *dinp, const float *inp, const float *dout, int n, int activation);
void adamw_update_scalar(float *param, const float *grad, float *m, float *v, int n, const AdamWStep *h);
void adamw_update_outer_scalar(float *param, float *m, float *v, const float *dout, int ldd, const float *inp,
                               int ldx, int B, int C, long lo, long hi, const AdamWStep *h,
                               const float *next_inp, float *next_out);
void moments_flush_scalar(float *m, float *v, size_t n);
void normals_from_bits_scalar(float *out, const uint32_t *bits, int n);
int kernels_have_simd(void);  // 1 if the dispatching kernels above use SIMD
// one of the batched kernels' tiles alone, on operands in L1, for reps sweeps of
// KERNELS_TILE_PROBE_FLOPS (the benchmark's ceilings for the tiles; no work in the scalar build)
enum { KERNELS_TILE_OUTER = 0, KERNELS_TILE_DOTS = 1 };
#define KERNELS_TILE_PROBE_FLOPS 32768
float kernels_tile_probe(int which, int reps);
void kernels_force_scalar(int on); // route the dispatchers to the scalar twins (for tests and benches)

// ---------------------------------------------------------------------------
// model.c -- the denoiser: parameters, activations, forward and backward

// The parameters, in checkpoint order. W are (out, in) row-major.
typedef struct {
    float *temb_w;  // (D, E)   timestep embedding projection, E = temb_dim
    float *temb_b;  // (D)
    float *fc1_w;   // (H, D)
    float *fc1_b;   // (H)
    float *fc2_w;   // (H, H)
    float *fc2_b;   // (H)
    float *fc3_w;   // (D, H)
    float *fc3_b;   // (D)
} Params;
#define NUM_PARAM_TENSORS 8

typedef struct {
    int D, H, E;                       // image floats, hidden width, embedding size
    size_t sizes[NUM_PARAM_TENSORS];   // floats in each tensor
    size_t num_params;
} ModelShape;

// Activations for a micro-batch of up to max_batch samples.
typedef struct {
    float *emb;   // (B, E)  sinusoidal embedding of each sample's t
    float *h0;    // (B, D)  x_t + temb
    float *a1;    // (B, H)  fc1 pre-activation
    float *h1;    // (B, H)  act(a1)
    float *a2;    // (B, H)
    float *h2;    // (B, H)
    float *out;   // (B, D)  network output (eps_pred or x0_pred)
    // gradients
    float *dout;  // (B, D)
    float *dh2, *da2, *dh1, *da1, *dh0; // as above
    unsigned generation;  // counts forward passes begun: a changed count means these were overwritten
} Acts;
#define MODEL_LAYERS 4    // the Linear layers temb, fc1, fc2, fc3: weight tensor 2l, bias 2l + 1

// sinusoidal embedding of timestep t: out (dim): sin half then cos half,
// frequency_i = 10000^(-i / (dim/2)) for i = 0 .. dim/2 - 1
void timestep_embedding(float *out, int t, int dim);
void model_shape(ModelShape *shape, const DDPMConfig *cfg);
void params_point(Params *p, float *memory, const ModelShape *shape); // carve tensors out of one block
void params_init(Params *p, const ModelShape *shape, Rng *rng);       // PyTorch Linear default init
// forward for B samples: x (B,D) noisy inputs, ts (B) timesteps, emb_table (T+1,E) the
// embedding of every t (DDPM.emb_table); result in acts->out
void model_forward(const Params *p, const ModelShape *shape, int activation, Acts *acts,
                   const float *emb_table, const float *x, const int *ts, int B);
// Linear layer l (0 temb, 1 fc1, 2 fc2, 3 fc3): its input (B,C), weights (OC,C), bias (OC),
// output (B,OC) before the bias, and the loss's gradient at that output (B,OC), of which its
// weight gradient is made (dW = dout^T inp), in acts
typedef struct { const float *inp, *W, *bias; float *out; const float *dout; int C, OC; } LayerIO;
LayerIO model_layer_io(const Params *p, const ModelShape *shape, Acts *acts, int layer);
void model_layer_dims(const ModelShape *shape, int layer, int *C, int *OC);  // its input and output sizes
// the same forward in pieces (model.c says why): begin; then for l = 0..3 in order, rows
// [o0, o1) of layer l's output (before its bias), over blocks that cover all its rows; then
// finish l (bias, then the input x added to h0 or the activation)
void model_forward_begin(const ModelShape *shape, Acts *acts, const float *emb_table, const int *ts, int B);
void model_forward_rows(const Params *p, const ModelShape *shape, Acts *acts, int layer, int o0, int o1, int B);
void model_forward_finish(const Params *p, const ModelShape *shape, int activation, Acts *acts, const float *x,
                          int layer, int B);
// backward from acts->dout; gradients accumulated into grads (in sample order)
void model_backward(const Params *p, Params *grads, const ModelShape *shape, int activation,
                    Acts *acts, int B);

// ---------------------------------------------------------------------------
// the whole state: ddpm.c allocates it, model.c computes the network, train.c trains it (optimizer.c
// updates it), sampler.c samples it

// a reverse chain in progress (see ddpm_sample_begin)
typedef struct {
    int t;               // the chain is at x_t; 0 when done
    int n, sigma, clip, use_ema;
    int step;            // the model's step when it began: a chain is of one model's weights
    const char *ended;   // why the last chain ended before x_0 (for the next continue's refusal), or NULL
    // the largest |network output| of the chain so far, over all its images, the t of the step it
    // came at (0: no step yet) and the largest |x_t| that step's input held: a blown-up network
    // whose x0 is clipped gives a finite chain, and only the size of what it said from an input in
    // range can name it (web/ddpm.mjs outputBlownUp)
    float output_peak, output_peak_input;
    int output_peak_t;
    // the same over the steps whose input was in range (sampler_xt_far_bound): a chain that then
    // ran away hides a blown-up network's output behind its own growth in the peak above
    float in_range_peak, in_range_peak_input;
    int in_range_peak_t;
    // (max_batch) image b's draws, x_T and then z at each step, from stream 3 + b of the sampling
    // seed: an image depends on its seed and its place, not on how many were drawn beside it
    Rng *rngs;
} SamplerState;

// floats of padding after each row of wgrad_vectors: rows of 1024 floats would sit 4 KB apart and
// all map to the same few L1 cache sets, so the samples of a batch would evict each other
#define WGRAD_PAD 16

enum { NEXT_NONE, NEXT_RUNNING, NEXT_READY };

typedef struct {
    DDPMConfig cfg;
    ModelShape shape;
    Schedule sched;
    float *param_memory, *grad_memory, *m_memory, *v_memory, *ema_memory; // num_params each
    Params params, grads, ema;
    Acts acts;
    float *emb_table;    // (T+1, E) timestep_embedding of every t, computed once: a forward looks rows up
    float *x0;           // (D) the training image
    Rng rng;             // training draws (t, eps)
    Rng batch_rng;       // rng when the batch in progress began: a refused step puts it back
    // the optimiser step in progress (a batch may be fed over several calls)
    int step;            // completed optimiser steps
    int adam_steps;      // AdamW updates since m and v were zero (= step unless a weights-only checkpoint was loaded)
    int batch_filled;    // samples of the current batch already accumulated
    long update_pos;     // -1, or how many parameters the AdamW update of a complete batch has done
    double batch_loss;   // their summed loss
    double grad_bound;   // a bound on the largest |g| of their gradient (samples_grad_bound, train.c)
    // a batch that fits one micro-batch (batch <= max_batch): each weight gradient is dout^T inp
    // over the batch; the step keeps those vectors here instead of the gradient (optimizer.c),
    // and AdamW forms the gradient on the fly
    float *wgrad_vectors; // per layer inp | dout: emb, dh0 | h0, da1 | h1, da2 | h2, dout, each (batch, len + WGRAD_PAD); NULL if batch > max_batch
    int wgrad_ready;      // 1 while the step in progress holds its weight gradients in wgrad_vectors
    // the next step's forward, computed by this step's update (begun in train.c, computed in optimizer.c)
    int next_forward;         // NEXT_NONE, NEXT_RUNNING (during the update) or NEXT_READY
    Rng next_rng;             // m->rng before the next step's draws
    unsigned next_generation; // acts.generation of that forward
    float *loss_history; // (max(cfg.steps, 1)) mean loss of each completed step
    // a micro-batch of training draws (and, between two steps, the next step's x_t: optimizer.c)
    float *xt_buf, *eps_buf, *target_buf; // (max_batch, D)
    int *t_buf;                           // (max_batch)
    // sampling: a batch of chains (buffers of its own, so a sample drawn between the pieces of
    // a training step touches nothing of it but the activations), and the trajectory of the first
    float *x_buf, *x_prev_buf, *eps_pred_buf, *x0_pred_buf, *z_buf; // (max_batch, D)
    int *sample_t_buf;                    // (max_batch) the chain's t, for each image
    SamplerState sampler;
    float *traj_x, *traj_eps, *traj_x0;   // (T+1, D) each, indexed by t (see ddpm_sample)
} DDPM;

DDPM *ddpm_create(const DDPMConfig *cfg);   // NULL on error (see ddpm_last_error)
void  ddpm_free(DDPM *m);
uint64_t ddpm_memory_bytes(const DDPMConfig *cfg); // what ddpm_create will allocate (64-bit: may exceed wasm32's size_t)
int   ddpm_set_image(DDPM *m, const float *img, int n); // n must be D; values in [-1, 1]; between steps
int   ddpm_set_sampling(DDPM *m, int sigma, int clip_x0); // the sampler's defaults, which a checkpoint records
void  make_red_square(float *img, int S);            // centred S/2 square: red on black

// train.c
// One slice of work on the current optimiser step, so a caller can bound the time of a call:
//  - gathering phase: up to max_samples samples of the batch (forward + backward, gradients
//    accumulated); when the batch is complete its loss is checked and the update phase begins
//  - update phase (update_pos >= 0): AdamW on up to max_params parameters; the step counts
//    as done when every parameter is updated
// Returns the samples or parameters processed, or -error. Any split of a step gives
// bit-identical weights.
int ddpm_train_work(DDPM *m, int max_samples, int max_params);
int ddpm_train_steps(DDPM *m, int steps);   // `steps` steps completed (one half done counts); DDPM_OK or an error,
                                            // refused before any work past the plan
int ddpm_set_steps(DDPM *m, int steps);     // a new plan of `steps` steps in all (>= those taken), between steps
// a batch that fits one micro-batch normally keeps its weight gradients as vectors and fuses them
// into AdamW, and the update computes the next step's forward as it goes (optimizer.c); on = 1 takes
// the plain path (whole gradient in grad_memory, forward at the step's start) instead, from the
// next batch begun (a batch in progress finishes as it began): same bits, for tests and benchmarks
void ddpm_force_unfused(int on);
// the caller wrote the weights directly (through w_params): a forward computed ahead is stale,
// and a reverse chain in progress ends (it was of the old weights)
void ddpm_params_changed(DDPM *m);
// 1 while a training step is begun and not finished (samples of its batch in, or its update under
// way): a plan, a save and the explicit-noise calls wait for its end
int ddpm_mid_step(const DDPM *m);
// 1 between two slices of a step's update: some parameters are the new step's, the rest the
// old one's, and a forward pass would mix two models (sampling and denoising are refused then)
int ddpm_weights_half_updated(const DDPM *m);
// 1 if the next step (a whole batch in one call) will use the forward its update computed
int ddpm_next_forward_ready(const DDPM *m);
// explicit-noise API, for checks against an independent implementation
// loss and gradients (into m->grads, zeroed first) for B caller-given (x_t, t, target);
// refused while a training step is in progress (its gradient lives in m->grads). The loss and
// gradients are returned as computed, with no divergence check: a NaN in gives a NaN out
int ddpm_loss_and_grad(DDPM *m, const float *xt, const int *ts, const float *target, int B, float *loss);
// one full optimiser step on caller-given t and eps (x_t formed from the training image)
int ddpm_train_step_explicit(DDPM *m, const int *ts, const float *eps, int B, float *loss);
// forward process q(x_t | x_0): xt = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps
void q_sample(const Schedule *s, float *xt, const float *x0, const float *eps, int t, int D);
// denoiser output (B,D) for caller-given x_t (B,D), t (B) (with the EMA weights if use_ema and
// the model keeps an EMA, else the raw weights); refused while the weights are half updated
int ddpm_denoise(DDPM *m, const float *xt, const int *ts, int B, float *out, int use_ema);

// optimizer.c -- the update of a step (train.c's update phase)
// AdamW (and the EMA) over parameters [lo, hi) of a completed batch. Elementwise, so updating
// in slices over several calls gives exactly the bits of one call over all of them. With the
// weight gradients saved as vectors (wgrad_ready), each is formed as it is used; while the
// next step's forward rides along (next_forward == NEXT_RUNNING), each finished block of rows
// gives its outputs
void optimizer_update(DDPM *m, size_t lo, size_t hi);
// copy the vectors the weight gradients of samples first..first+B-1 of the batch are made of
// (each layer's inp and dout, from the backward pass just run) into m->wgrad_vectors
void wgrad_save(DDPM *m, int first, int B);
size_t wgrad_floats_per_sample(const ModelShape *shape);  // the size of those vectors
float ddpm_current_lr(const DDPM *m);  // the learning rate of the step in progress (cosine decay or constant)

// sampler.c
// One reverse step for one image: from x_t and the predicted noise, x_{t-1}.
// Writes x0_pred (the implied clean image, clipped if clip) and x_prev. z is N(0,I) noise (ignored at t=1).
void reverse_step(const Schedule *s, float *x_prev, float *x0_pred, const float *xt,
                  const float *eps_pred, const float *z, int t, int D, int sigma, int clip);
// Ancestral sampling of n images from x_T ~ N(0, I) with the given seed.
// final (n, D) receives x_0. The trajectory of image 0 is written when traj_x != NULL:
//   traj_x   (T+1, D)   traj_x[t] = x_t, t = T .. 0
//   traj_eps (T+1, D)   predicted noise at step t (row 0 unused)
//   traj_x0  (T+1, D)   predicted x0 at step t (row 0 = x_0)
int ddpm_sample(DDPM *m, int n, uint32_t seed, int sigma, int clip, int use_ema, float *final,
                float *traj_x, float *traj_eps, float *traj_x0);
// The same chain in pieces, so a caller can bound the time of a call: begin draws x_T;
// continue runs up to max_steps (>= 1) reverse steps and returns the t reached (0 = done) or
// -error. The trajectory of image 0 builds up in m->traj_*; the images are in m->x_buf. A chain
// is of one model: begun while the weights are half updated it is refused, and it ends, refused,
// if the model has trained on (or its weights were written, ddpm_params_changed) since it began.
// use_ema takes the EMA weights where the model keeps an EMA, else the raw weights; clip is 0 or 1.
int ddpm_sample_begin(DDPM *m, int n, uint32_t seed, int sigma, int clip, int use_ema);
int ddpm_sample_continue(DDPM *m, int max_steps);
// end a chain in progress, if any, for the reason given (a continue is then refused with it)
void sampler_end_chain(SamplerState *st, const char *why);
// x_t beyond this at step t is far outside anything the forward process makes: XT_FAR_IMAGE of
// the image part sqrt(alpha_bar_t) plus XT_FAR_NOISE normals' widths sqrt(1 - alpha_bar_t). The
// page's badge uses the same bound (web/ddpm.mjs xtFarBound: tests/sampler.test.mjs holds the two
// equal). A network output past OUTPUT_BLOWN_UP from an input within it is a blown-up network.
#define XT_FAR_IMAGE 1.5f
#define XT_FAR_NOISE 5.5f
#define OUTPUT_BLOWN_UP 1e3f
float sampler_xt_far_bound(const Schedule *s, int t);

// checkpoint.c -- see README "Checkpoint format". Save between steps only; a load is checked
// whole before anything is copied, drops a step half done and ends a reverse chain in progress.
// A file (version 2) also carries the settings of the run that wrote it, for the caller to build
// its model with: a load checks them and leaves the model's own config as it is.
size_t ddpm_checkpoint_size(const DDPM *m, int with_optimizer);
uint64_t ddpm_checkpoint_max_size(const DDPMConfig *cfg);  // the longest file a model of cfg could load (no model needed)
int    ddpm_checkpoint_save(const DDPM *m, uint8_t *buf, size_t cap, int with_optimizer);
int    ddpm_checkpoint_load(DDPM *m, const uint8_t *buf, size_t len);
uint32_t crc32(const uint8_t *data, size_t n);          // 8 bytes a step (slicing-by-8)
uint32_t crc32_bitwise(const uint8_t *data, size_t n);  // by the definition, the reference

#endif
