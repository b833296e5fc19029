// train.c -- the training loop: draw (t, eps), form x_t in closed form, regress the network
// output on its target with MSE, backpropagate, and apply AdamW once per batch.
//
// One step, in the plain order (Ho et al. 2020, Algorithm 1):
//   draw_samples         t ~ U{1..T}, eps ~ N(0, I)          per sample of the batch
//   make_inputs          x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps, and the target
//   accumulate           model_forward, mse_forward_backward, model_backward (model.c)
//   close_batch          the loss recorded; NaN/Inf or an overflowing gradient refused
//   update_slice         AdamW over the parameters (optimizer_update, optimizer.c)
// ddpm_train_step_explicit (near the end of this file) is exactly that, in one call, on given t
// and eps. ddpm_train_work runs the same step in slices a page can fit into animation frames,
// with two fusions for speed that change no bits (the weight gradients formed inside AdamW,
// optimizer.c; the next step's forward computed by the update, below): tests hold both to the
// plain order with ddpm_force_unfused.
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ddpm.h"

// x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps: the closed form of q(x_t | x_0),
// which lets training visit any t in one step
void q_sample(const Schedule *s, float *xt, const float *x0, const float *eps, int t, int D) {
    float a = s->sqrt_alpha_bar[t], b = s->sqrt_one_minus_alpha_bar[t];
    for (int i = 0; i < D; i++) xt[i] = a * x0[i] + b * eps[i];
}

// out (B,D), target (B,D) -> dout (B,D) = d(loss)/d(out) for the mean over all `batch` samples;
// adds each of the B samples' MSE to *total, in sample order (so any split of a batch sums the
// same way)
static void mse_forward_backward(double *total, float *dout, const float *out, const float *target,
                                 int B, int D, int batch) {
    float scale = 2.0f / ((float)D * (float)batch);
    for (int b = 0; b < B; b++) {
        const float *o = out + (size_t)b * D, *y = target + (size_t)b * D;
        float *d = dout + (size_t)b * D;
        double sum = 0.0;
        for (int i = 0; i < D; i++) {
            float diff = o[i] - y[i];
            sum += (double)diff * diff;
            d[i] = scale * diff;
        }
        *total += sum / D;
    }
}

// The next step's forward, fused into this step's update. A forward pass reads every weight, and
// after an update it reads them from memory: the update streams W, m and v (33 MB at the default
// size) through the caches, and W does not stay (a batch-1 forward measured 0.94 ms after an update
// against 0.47 ms warm when this fusion came in, commit 087910e). But the update has each row of W
// in cache the moment it has written it, and the next step's draws are known: they come from
// m->rng, which nothing else draws from. So when an update begins, the next step's t and eps are
// drawn on a copy of the rng and its inputs formed (next_forward_begin); as the update finishes
// each block of rows of a layer it computes those rows' outputs for the next step's samples, and as
// it finishes the layer's bias it adds the bias and the activation (optimizer_update: model_forward
// in pieces, the same bits). The next ddpm_train_work finds its forward done if nothing it depends
// on changed in between (next_forward_usable), and draws the same t and eps again to move the rng
// on. Whatever changes the weights or the image outside training sets next_forward to NEXT_NONE
// (ddpm_set_image, ddpm_params_changed, checkpoint loading; so a caller writing the weights through
// the raw pointer w_params must call ddpm_params_changed, as Model.setParams does, and the image
// changes only through ddpm_set_image); a forward of anything else (a sample) shows as a new
// acts.generation.

// neither fusion (no weight gradient formed in AdamW, no forward computed during the update),
// for the tests that hold the fused and plain orders to the same bits and for the benchmark
static int force_unfused = 0;
void ddpm_force_unfused(int on) { force_unfused = on; }

// draw t and eps for B samples, in sample order (t then eps, per sample), so any split of a
// batch draws the same
static void draw_samples(DDPM *m, int B) {
    for (int b = 0; b < B; b++) {
        m->t_buf[b] = rng_int(&m->rng, 1, m->cfg.T);
        rng_normal(&m->rng, m->eps_buf + (size_t)b * m->shape.D, m->shape.D);
    }
}

// form the network's inputs and targets for B samples whose t and eps are in t_buf/eps_buf
static void make_inputs(DDPM *m, int B) {
    int D = m->shape.D;
    for (int b = 0; b < B; b++) {
        float *xt = m->xt_buf + (size_t)b * D, *eps = m->eps_buf + (size_t)b * D;
        q_sample(&m->sched, xt, m->x0, eps, m->t_buf[b], D);
        // the regression target: the noise (paper) or the clean image
        memcpy(m->target_buf + (size_t)b * D, m->cfg.predict == PREDICT_EPS ? eps : m->x0, sizeof(float) * D);
    }
}

// A bound on the largest |g| that B samples add to the gradient, from the vectors each
// Linear layer's gradient is made of (dW += dout_b^T inp_b and db += dout_b for each sample b,
// dout_b (1,OC) and inp_b (1,C)):
//   |g| <= sum_b max_layer max|dout_b| max(max|inp_b|, 1);   NaN if any of them is NaN.
// A few thousand floats per sample, instead of reading the whole gradient (11 MB) per step.
static double samples_grad_bound(DDPM *m, int B) {
    double bound = 0.0;
    for (int b = 0; b < B; b++) {
        double worst = 0.0;
        for (int l = 0; l < MODEL_LAYERS; l++) {
            LayerIO io = model_layer_io(&m->params, &m->shape, &m->acts, l);
            double x = max_abs(io.inp + (size_t)b * io.C, io.C);
            double g = max_abs(io.dout + (size_t)b * io.OC, io.OC) * (x > 1.0 || x != x ? x : 1.0);
            worst = g > worst || g != g ? g : worst;
        }
        bound += worst;
    }
    return bound;
}

// forward + loss + backward for B samples of a batch of `batch`: xt (B,D), ts (B), target (B,D);
// losses added to *total, a bound on their gradient to *bound, gradients accumulated into
// m->grads (fused: the bias gradients only, see wgrad_save in optimizer.c)
static void accumulate(DDPM *m, double *total, double *bound, const float *xt, const int *ts,
                       const float *target, int B, int batch, int fused, int forward_done) {
    if (!forward_done) model_forward(&m->params, &m->shape, m->cfg.activation, &m->acts, m->emb_table, xt, ts, B);
    mse_forward_backward(total, m->acts.dout, m->acts.out, target, B, m->shape.D, batch);
    Params g = m->grads;
    if (fused) g.temb_w = g.fc1_w = g.fc2_w = g.fc3_w = NULL;  // matmul_backward skips a NULL dW
    model_backward(&m->params, &g, &m->shape, m->cfg.activation, &m->acts, B);
    *bound += samples_grad_bound(m, B);
}

// AdamW squares each gradient in float, so |g| must stay below sqrt(FLT_MAX) = 1.8e19: an Inf
// in v freezes its parameter for good, and an Inf or NaN g turns the weights NaN. 1e19 leaves
// room for the rounding of the sums the bound above does not see (under 1% at 65536 samples).
#define GRAD_LIMIT 1e19

// a completed batch: record its loss, refuse a non-finite loss or an overflowing gradient (the
// backward pass can overflow while the loss is still finite), and start the update phase; a
// refused step leaves the weights and the AdamW state as they were (and ddpm_train_work the rng)
static int close_batch(DDPM *m, double loss, double bound) {
    m->batch_filled = 0;
    // as float, the type the loss curve keeps: a double loss beyond 3.4e38 is Inf there
    if (!isfinite((float)loss)) {
        // Usually the weights are finite and this step's forward overflowed; but an update with
        // an enormous lr can itself overflow them, and then "kept" would be false. Reading the
        // weights costs a pass over them, paid only here.
        if (!(max_abs(m->param_memory, m->shape.num_params) <= FLT_MAX))
            return ddpm_set_error(DDPM_ERR_DIVERGED,
                "training diverged at step %d: the weights hold NaN or Inf%s, so the loss is %s",
                m->step + 1, m->step > 0 ? " (the update of the step before overflowed them: lr is too large)" : "",
                isnan(loss) ? "NaN" : "Inf");
        return ddpm_set_error(DDPM_ERR_DIVERGED,
            "training diverged at step %d: the loss is %s; the weights of step %d are kept",
            m->step + 1, isnan(loss) ? "NaN" : "Inf", m->step);
    }
    if (!(bound < GRAD_LIMIT))
        return ddpm_set_error(DDPM_ERR_DIVERGED,
            "training diverged at step %d: the loss is %.3g, and the gradient %s; the weights of step %d are kept",
            m->step + 1, loss, isfinite(bound) ? "may pass 1e19, too large for AdamW" : "holds NaN or Inf", m->step);
    m->loss_history[m->step] = (float)loss;
    m->update_pos = 0;
    return DDPM_OK;
}

// update up to max_params parameters; the step is complete when all are done
static int update_slice(DDPM *m, int max_params) {
    size_t n = m->shape.num_params, lo = (size_t)m->update_pos;
    // slices are whole groups of 4, so the SIMD kernel sees the same lanes as one big call
    size_t count = ((size_t)max_params + 3) / 4 * 4;
    if (count > n - lo) count = n - lo;
    optimizer_update(m, lo, lo + count);
    m->update_pos += (long)count;
    if ((size_t)m->update_pos == n) {
        m->update_pos = -1;
        if (m->next_forward == NEXT_RUNNING)
            m->next_forward = m->acts.generation == m->next_generation ? NEXT_READY : NEXT_NONE;
        m->wgrad_ready = 0;
        m->step++;
        m->adam_steps++;
    }
    return (int)count;
}

// at the start of an update: the next step's draws and inputs, and its forward begun, when this
// step came in one call (`whole`) with its weight gradients fused (wgrad_ready): the next one
// most likely will too. A step that came in pieces (the page, when a batch does not fit a
// frame) says the next one will too, and its first piece would only throw the forward away.
static void next_forward_begin(DDPM *m, int whole) {
    const DDPMConfig *c = &m->cfg;
    m->next_forward = NEXT_NONE;
    if (force_unfused || !whole || !m->wgrad_ready || m->step + 1 >= c->steps) return;
    m->next_rng = m->rng;
    draw_samples(m, c->batch);
    m->rng = m->next_rng;  // the step itself draws them again
    make_inputs(m, c->batch);
    model_forward_begin(&m->shape, &m->acts, m->emb_table, m->t_buf, c->batch);
    m->next_generation = m->acts.generation;
    m->next_forward = NEXT_RUNNING;
}

// the forward of a step that begins with B samples is done if the update computed it, for a
// whole batch, from the rng as it is now, and no other forward has used the activations since
// (and the plain order has not been asked for in between)
static int next_forward_usable(const DDPM *m, int B) {
    return !force_unfused && m->next_forward == NEXT_READY && B == m->cfg.batch && m->acts.generation == m->next_generation &&
           m->rng.state == m->next_rng.state && m->rng.inc == m->next_rng.inc;
}

void ddpm_params_changed(DDPM *m) {
    m->next_forward = NEXT_NONE;
    sampler_end_chain(&m->sampler, "the last one ended when the weights were written");
}
int ddpm_mid_step(const DDPM *m) { return m->batch_filled != 0 || m->update_pos >= 0; }
int ddpm_weights_half_updated(const DDPM *m) { return m->update_pos > 0; }
int ddpm_next_forward_ready(const DDPM *m) { return next_forward_usable(m, m->cfg.batch); }

int ddpm_train_work(DDPM *m, int max_samples, int max_params) {
    const DDPMConfig *c = &m->cfg;
    if (m->update_pos >= 0) {
        if (max_params < 1) return -ddpm_set_error(DDPM_ERR_ARGUMENT, "training: max_params must be >= 1");
        return update_slice(m, max_params);
    }
    if (m->step >= c->steps)
        return -ddpm_set_error(DDPM_ERR_ARGUMENT, "training: all %d planned steps are done", c->steps);
    if (max_samples < 1) return -ddpm_set_error(DDPM_ERR_ARGUMENT, "training: max_samples must be >= 1");
    int remaining = c->batch - m->batch_filled;
    int B = max_samples < remaining ? max_samples : remaining;
    if (B > c->max_batch) B = c->max_batch;
    // a batch that fits one micro-batch, in one call or in pieces: see wgrad_save. Decided at
    // the batch's first piece and kept to its last.
    int fused = m->batch_filled == 0 ? m->wgrad_vectors != NULL && !force_unfused : m->wgrad_ready;
    if (m->batch_filled == 0) {
        if (fused) {
            // only the bias gradients are accumulated in grad_memory
            Params *g = &m->grads;
            memset(g->temb_b, 0, sizeof(float) * m->shape.D);
            memset(g->fc1_b, 0, sizeof(float) * m->shape.H);
            memset(g->fc2_b, 0, sizeof(float) * m->shape.H);
            memset(g->fc3_b, 0, sizeof(float) * m->shape.D);
        } else {
            memset(m->grad_memory, 0, m->shape.num_params * sizeof(float));
        }
        m->batch_loss = 0.0;
        m->grad_bound = 0.0;
        m->batch_rng = m->rng;
    }
    int forward_done = m->batch_filled == 0 && next_forward_usable(m, B);
    m->next_forward = NEXT_NONE;
    draw_samples(m, B);
    make_inputs(m, B);
    accumulate(m, &m->batch_loss, &m->grad_bound, m->xt_buf, m->t_buf, m->target_buf, B, c->batch, fused, forward_done);
    if (fused) wgrad_save(m, m->batch_filled, B);
    m->wgrad_ready = fused;
    m->batch_filled += B;
    if (m->batch_filled == c->batch) {
        int err = close_batch(m, m->batch_loss / c->batch, m->grad_bound);
        if (err) {
            // The refused step's draws are undone too: with its weights, AdamW state and loss
            // curve, the model is then its last good step whole, and a file saved from it resumes
            // as that step would (it resumed one step's draws further on). (Unless that step's
            // own update overflowed the weights: close_batch's message says so then.)
            m->rng = m->batch_rng;
            return -err;
        }
        next_forward_begin(m, B == c->batch);
    }
    return B;
}

// A new plan: `steps` optimiser steps in all. The loss history grows (or shrinks) to match, the
// one allocation after ddpm_create; on failure the model is as it was. Between steps only, since
// the cosine learning rate depends on the plan and a step's update must use one rate throughout.
int ddpm_set_steps(DDPM *m, int steps) {
    if (ddpm_mid_step(m))
        return ddpm_set_error(DDPM_ERR_ARGUMENT, "steps: a training step is in progress; finish it first");
    DDPMConfig cfg = m->cfg;
    cfg.steps = steps;
    int err = ddpm_config_validate(&cfg);
    if (err) return err;
    if (steps < m->step)
        return ddpm_set_error(DDPM_ERR_ARGUMENT, "steps: %d is fewer than the %d steps already taken", steps, m->step);
    float *history = realloc(m->loss_history, sizeof(float) * (size_t)(steps > 0 ? steps : 1));
    if (!history) return ddpm_set_error(DDPM_ERR_MEMORY, "steps: out of memory for a loss history of %d steps", steps);
    m->loss_history = history;
    m->cfg.steps = steps;
    // a forward computed ahead stays valid (the weights and draws are the same), and none was
    // computed after the last step of the old plan: next_forward_begin stops there
    return DDPM_OK;
}

int ddpm_train_steps(DDPM *m, int steps) {
    // refused before any work: a count past the plan used to train up to its end, then refuse,
    // leaving the caller an error beside a model that had changed
    int left = m->cfg.steps - m->step;
    if (steps < 0) return ddpm_set_error(DDPM_ERR_ARGUMENT, "training: steps must be >= 0 (got %d)", steps);
    if (steps > left && left == 0)
        return ddpm_set_error(DDPM_ERR_ARGUMENT, "training: all %d planned steps are done", m->cfg.steps);
    if (steps > left)
        return ddpm_set_error(DDPM_ERR_ARGUMENT, "training: %d steps asked, but %d of the %d planned are left (raise steps)",
                              steps, left, m->cfg.steps);
    for (int i = 0; i < steps; i++) {
        // finish a batch in progress first, then whole batches in micro-batches of max_batch
        int start = m->step;
        while (m->step == start) {
            int r = ddpm_train_work(m, m->cfg.max_batch, (int)m->shape.num_params);
            if (r < 0) return -r;
        }
    }
    return DDPM_OK;
}

static int check_timesteps(const DDPM *m, const int *ts, int B) {
    if (B < 1 || B > m->cfg.max_batch)
        return ddpm_set_error(DDPM_ERR_ARGUMENT, "B must be in 1..max_batch=%d (got %d)", m->cfg.max_batch, B);
    for (int b = 0; b < B; b++)
        if (ts[b] < 1 || ts[b] > m->cfg.T)
            return ddpm_set_error(DDPM_ERR_ARGUMENT, "t must be in 1..T=%d (got %d)", m->cfg.T, ts[b]);
    return DDPM_OK;
}

int ddpm_loss_and_grad(DDPM *m, const float *xt, const int *ts, const float *target, int B, float *loss) {
    int err = check_timesteps(m, ts, B);
    if (err) return err;
    // it overwrites grad_memory, which holds the gradient of a step in progress
    if (ddpm_mid_step(m))
        return ddpm_set_error(DDPM_ERR_ARGUMENT, "a training step is in progress; finish it first");
    memset(m->grad_memory, 0, m->shape.num_params * sizeof(float));
    double total = 0.0, bound = 0.0;
    accumulate(m, &total, &bound, xt, ts, target, B, B, 0, 0);
    *loss = (float)(total / B);
    return DDPM_OK;
}

int ddpm_train_step_explicit(DDPM *m, const int *ts, const float *eps, int B, float *loss) {
    int err = check_timesteps(m, ts, B);
    if (err) return err;
    if (ddpm_mid_step(m))
        return ddpm_set_error(DDPM_ERR_ARGUMENT, "a training step is in progress; finish it first");
    if (m->step >= m->cfg.steps)
        return ddpm_set_error(DDPM_ERR_ARGUMENT, "training: all %d planned steps are done", m->cfg.steps);
    memcpy(m->t_buf, ts, sizeof(int) * B);
    memcpy(m->eps_buf, eps, sizeof(float) * B * m->shape.D);
    make_inputs(m, B);
    memset(m->grad_memory, 0, m->shape.num_params * sizeof(float));
    double total = 0.0, bound = 0.0;
    accumulate(m, &total, &bound, m->xt_buf, m->t_buf, m->target_buf, B, B, 0, 0);
    m->wgrad_ready = 0;  // the explicit step keeps its whole gradient in grad_memory
    *loss = (float)(total / B);
    err = close_batch(m, total / B, bound);
    if (err) return err;
    update_slice(m, (int)m->shape.num_params);  // all parameters at once: the step completes
    return DDPM_OK;
}

int ddpm_denoise(DDPM *m, const float *xt, const int *ts, int B, float *out, int use_ema) {
    int err = check_timesteps(m, ts, B);
    if (err) return err;
    if (ddpm_weights_half_updated(m))
        return ddpm_set_error(DDPM_ERR_ARGUMENT, "denoise: the weight update of step %d is half done, and a forward pass "
                              "now would mix the weights of two steps; finish the step first", m->step + 1);
    const Params *p = use_ema && m->ema_memory ? &m->ema : &m->params;
    model_forward(p, &m->shape, m->cfg.activation, &m->acts, m->emb_table, xt, ts, B);
    memcpy(out, m->acts.out, sizeof(float) * B * m->shape.D);
    return DDPM_OK;
}
