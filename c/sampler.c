// sampler.c -- DDPM ancestral sampling (Ho et al. 2020, Algorithm 2), every state kept.
#include <math.h>
#include <string.h>
#include "ddpm.h"

// xt (D), eps_pred (D), z (D) -> x_prev (D) = x_{t-1}, x0_pred (D): one image (ddpm.h)
void reverse_step(const Schedule *s, float *x_prev, float *x0_pred, const float *xt,
                  const float *eps_pred, const float *z, int t, int D, int sigma, int clip) {
    // the clean image the predicted noise implies: x0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)
    float c_noise = s->sqrt_one_minus_alpha_bar[t], inv_c_signal = 1.0f / s->sqrt_alpha_bar[t];
    for (int i = 0; i < D; i++) {
        float x0 = (xt[i] - c_noise * eps_pred[i]) * inv_c_signal;
        if (clip) x0 = x0 < -1.0f ? -1.0f : (x0 > 1.0f ? 1.0f : x0);
        x0_pred[i] = x0;
    }
    // sigma_t^2 = beta_t (the write-up's choice, the paper preset's) or beta_tilde_t (the true posterior variance);
    // no noise is added on the last step
    float variance = sigma == SIGMA_BETA ? s->beta[t] : s->posterior_variance[t];
    float std = t > 1 ? sqrtf(variance) : 0.0f;
    if (clip) {
        // with a clipped x0 the mean is the posterior mean of q(x_{t-1} | x_t, x0)
        float cx0 = s->posterior_coef_x0[t], cxt = s->posterior_coef_xt[t];
        for (int i = 0; i < D; i++) x_prev[i] = cx0 * x0_pred[i] + cxt * xt[i] + (t > 1 ? std * z[i] : 0.0f);
    } else {
        // Ho et al.'s form (their Algorithm 2): mu = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_t)
        float ce = s->eps_coef[t], inv_sqrt_alpha = s->inv_sqrt_alpha[t];
        for (int i = 0; i < D; i++) x_prev[i] = inv_sqrt_alpha * (xt[i] - ce * eps_pred[i]) + (t > 1 ? std * z[i] : 0.0f);
    }
}

// the network's output as predicted noise: itself (eps-prediction), or the noise implied by a
// predicted x0: eps = (x_t - sqrt(alpha_bar_t) x0) / sqrt(1 - alpha_bar_t)
static void output_to_eps(const Schedule *s, float *eps, const float *out, const float *xt, int t, int D, int predict) {
    if (predict == PREDICT_EPS) { memcpy(eps, out, sizeof(float) * D); return; }
    float a = s->sqrt_alpha_bar[t], inv_b = 1.0f / s->sqrt_one_minus_alpha_bar[t];
    for (int i = 0; i < D; i++) eps[i] = (xt[i] - a * out[i]) * inv_b;
}

static int all_finite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) if (!isfinite(x[i])) return 0;
    return 1;
}

// x_t beyond this is far past anything the forward process makes (|x_t| <= sqrt(alpha_bar) +
// a few sqrt(1 - alpha_bar), under 10), so far past anything training showed the network
#define CHAIN_RAN_AWAY 1e3f

float sampler_xt_far_bound(const Schedule *s, int t) {
    return XT_FAR_IMAGE * s->sqrt_alpha_bar[t] + XT_FAR_NOISE * s->sqrt_one_minus_alpha_bar[t];
}

void sampler_end_chain(SamplerState *st, const char *why) {
    if (st->t > 0) st->ended = why;
    st->t = 0;
}

int ddpm_sample_begin(DDPM *m, int n, uint32_t seed, int sigma, int clip, int use_ema) {
    int D = m->shape.D, T = m->cfg.T;
    if (n < 1 || n > m->cfg.max_batch)
        return ddpm_set_error(DDPM_ERR_ARGUMENT, "sample: n must be in 1..max_batch=%d (got %d)", m->cfg.max_batch, n);
    if (sigma != SIGMA_BETA && sigma != SIGMA_BETA_TILDE)
        return ddpm_set_error(DDPM_ERR_ARGUMENT, "sample: unknown sigma %d", sigma);
    if (clip != 0 && clip != 1) return ddpm_set_error(DDPM_ERR_ARGUMENT, "sample: clip must be 0 or 1 (got %d)", clip);
    if (ddpm_weights_half_updated(m))
        return ddpm_set_error(DDPM_ERR_ARGUMENT, "sample: the weight update of step %d is half done, and a chain now "
                              "would mix the weights of two steps; finish the step first", m->step + 1);
    SamplerState *st = &m->sampler;
    st->n = n; st->sigma = sigma; st->clip = clip; st->use_ema = use_ema && m->ema_memory;
    st->step = m->step;
    st->ended = NULL;
    st->output_peak = st->output_peak_input = 0.0f; st->output_peak_t = 0;
    st->in_range_peak = st->in_range_peak_input = 0.0f; st->in_range_peak_t = 0;
    // streams of their own (3, 4, ...: training draws from 2), one per image, so image b of a
    // batch of n is image b of any larger batch, and image 0 the single image of that seed
    for (int b = 0; b < n; b++) {
        rng_seed(&st->rngs[b], seed, 3 + (uint64_t)b);
        rng_normal(&st->rngs[b], m->x_buf + (size_t)b * D, D);  // x_T ~ N(0, I)
    }
    memcpy(m->traj_x + (size_t)T * D, m->x_buf, sizeof(float) * D);
    memset(m->traj_eps, 0, sizeof(float) * D);  // no prediction at t = 0
    st->t = T;
    return DDPM_OK;
}

int ddpm_sample_continue(DDPM *m, int max_steps) {
    SamplerState *st = &m->sampler;
    int D = m->shape.D, n = st->n;
    if (st->t <= 0)
        return -ddpm_set_error(DDPM_ERR_ARGUMENT, "sample: no chain in progress (%s; call begin first)",
                               st->ended ? st->ended : "none begun, or the last one reached x_0");
    if (max_steps < 1) return -ddpm_set_error(DDPM_ERR_ARGUMENT, "sample: max_steps must be >= 1 (got %d)", max_steps);
    // a chain of one model: the weights it began with, whole (the chain ends otherwise)
    if (m->step != st->step || ddpm_weights_half_updated(m)) {
        int from = st->step;
        sampler_end_chain(st, "the last one ended when the model trained on");
        return -ddpm_set_error(DDPM_ERR_ARGUMENT, "sample: the model has trained on since this chain began at step %d "
                               "(%s), so the chain would mix two models; it is ended: begin a new one", from,
                               m->step != from ? "a step has been taken" : "the next step's weight update is half done");
    }
    const Params *p = st->use_ema ? &m->ema : &m->params;
    float *x = m->x_buf, *eps = m->eps_pred_buf, *x0_pred = m->x0_pred_buf, *z = m->z_buf, *x_prev = m->x_prev_buf;
    int *ts = m->sample_t_buf;
    for (int k = 0; k < max_steps && st->t >= 1; k++) {
        int t = st->t;
        for (int b = 0; b < n; b++) ts[b] = t;
        model_forward(p, &m->shape, m->cfg.activation, &m->acts, m->emb_table, x, ts, n);
        if (t > 1)
            for (int b = 0; b < n; b++) rng_normal(&st->rngs[b], z + (size_t)b * D, D);
        for (int b = 0; b < n; b++) {
            size_t off = (size_t)b * D;
            output_to_eps(&m->sched, eps + off, m->acts.out + off, x + off, t, D, m->cfg.predict);
            reverse_step(&m->sched, x_prev + off, x0_pred + off, x + off, eps + off, z + off, t, D, st->sigma, st->clip);
        }
        // the prediction first, so a broken network is named as such (its NaN would reach x_{t-1}
        // too); and with clipping an infinite prediction still gives a finite x_{t-1} (x0 = -Inf
        // clips to -1), so x_{t-1} alone would miss it: a chain driven by Inf is not a sample
        if (!all_finite(eps, (size_t)n * D)) {
            sampler_end_chain(st, "the last one diverged");
            // with x0-prediction the noise is derived from the network's x0, up to 1/sqrt(1 -
            // alpha_bar_1) times it: name the network's output if that broke, else the derivation
            int out_finite = all_finite(m->acts.out, (size_t)n * D);
            const char *what = m->cfg.predict == PREDICT_EPS ? "the predicted noise"
                : !out_finite ? "the predicted x0" : "the noise derived from the predicted x0";
            // What the sizes tell: a chain that ran away (x_t and the network's prediction grew
            // together step by step: the paper's betas with x0 unclipped reach x_t of 3.5e36 by
            // t = 23 in a trial, after a training that went well; weights that training blew up
            // do it too, and the sizes cannot tell those two apart, so both are named), or a
            // network whose output is huge from the start (weights blown up, or not finite)
            float x_big = max_abs(x, (size_t)n * D);
            // (the steps before, while x_t was still in range, can tell the two apart: a network
            // that said more than OUTPUT_BLOWN_UP there had blown up before the chain ran away)
            if (x_big > CHAIN_RAN_AWAY && st->in_range_peak > OUTPUT_BLOWN_UP)
                return -ddpm_set_error(DDPM_ERR_DIVERGED,
                    "sampling diverged at t=%d: %s holds NaN or Inf, and x_%d had reached %.3g: the chain ran away, "
                    "x_t and the network's predictions growing together step by step, from a network whose weights "
                    "are far too large, as training that blew up leaves them: at t=%d, from an x_t within +-%.3g, "
                    "still in range, its output reached %.3g, where it was trained to give %s", t, what, t, x_big,
                    st->in_range_peak_t, st->in_range_peak_input, st->in_range_peak,
                    m->cfg.predict == PREDICT_EPS ? "noise from N(0, 1)" : "an image in [-1, 1]");
            if (x_big > CHAIN_RAN_AWAY)
                return -ddpm_set_error(DDPM_ERR_DIVERGED,
                    "sampling diverged at t=%d: %s holds NaN or Inf, and x_%d had reached %.3g: the chain ran away, "
                    "x_t and the network's predictions growing together step by step%s", t, what, t, x_big,
                    st->clip ? ": the network's weights are far too large, as training that blew up leaves them"
                             : ": either the network's weights are far too large, as training that blew up leaves them, "
                               "or its predictions, fed back unclipped, drove it (clipping the predicted x0 to [-1, 1] "
                               "keeps such a chain in range)");
            if (m->cfg.predict == PREDICT_X0 && out_finite)
                return -ddpm_set_error(DDPM_ERR_DIVERGED,
                    "sampling diverged at t=%d: %s holds NaN or Inf, while the predicted x0 (up to %.3g) and x_%d "
                    "(up to %.3g) are finite: the network's output is far too large (its weights are, as training "
                    "that blew up leaves them)", t, what, max_abs(m->acts.out, (size_t)n * D), t, x_big);
            return -ddpm_set_error(DDPM_ERR_DIVERGED,
                "sampling diverged at t=%d: %s holds NaN or Inf (the network's output overflowed: its weights are far "
                "too large, as training that blew up leaves them, or not finite)", t, what);
        }
        if (!all_finite(x_prev, (size_t)n * D)) {
            sampler_end_chain(st, "the last one diverged");
            return -ddpm_set_error(DDPM_ERR_DIVERGED,
                "sampling diverged at t=%d: x_%d holds NaN or Inf (the chain left the range of float: the "
                "network's predictions are far too large)", t, t - 1);
        }
        // the input's size only at a step that may set a peak (in_range_peak <= output_peak, so
        // any that does passes the first test): most steps of a chain set neither
        float peak = max_abs(m->acts.out, (size_t)n * D);
        if (peak > st->in_range_peak) {
            float input = max_abs(x, (size_t)n * D);
            if (peak > st->output_peak) {
                st->output_peak = peak; st->output_peak_t = t; st->output_peak_input = input;
            }
            if (input <= sampler_xt_far_bound(&m->sched, t)) {
                st->in_range_peak = peak; st->in_range_peak_t = t; st->in_range_peak_input = input;
            }
        }
        // the trajectory of image 0: x_{t-1}, and what the network said at t
        memcpy(m->traj_x + (size_t)(t - 1) * D, x_prev, sizeof(float) * D);
        memcpy(m->traj_eps + (size_t)t * D, eps, sizeof(float) * D);
        memcpy(m->traj_x0 + (size_t)t * D, x0_pred, sizeof(float) * D);
        memcpy(x, x_prev, sizeof(float) * n * D);
        st->t = t - 1;
    }
    if (st->t == 0) memcpy(m->traj_x0, x, sizeof(float) * D);  // at t = 0 the sample is its own x0
    return st->t;
}

int ddpm_sample(DDPM *m, int n, uint32_t seed, int sigma, int clip, int use_ema, float *final,
                float *traj_x, float *traj_eps, float *traj_x0) {
    int err = ddpm_sample_begin(m, n, seed, sigma, clip, use_ema);
    if (err) return err;
    int r = ddpm_sample_continue(m, m->cfg.T);
    if (r < 0) return -r;
    size_t traj_bytes = sizeof(float) * (size_t)(m->cfg.T + 1) * m->shape.D;
    if (traj_x) memcpy(traj_x, m->traj_x, traj_bytes);
    if (traj_eps) memcpy(traj_eps, m->traj_eps, traj_bytes);
    if (traj_x0) memcpy(traj_x0, m->traj_x0, traj_bytes);
    memcpy(final, m->x_buf, sizeof(float) * n * m->shape.D);
    return DDPM_OK;
}
