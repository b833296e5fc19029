// schedule.c -- the noise schedule and every coefficient derived from it.
// Computed once in double (products of 1000 factors lose bits in float), stored as float.
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ddpm.h"

// betas for t = 1..T into beta[1..T]
static int make_betas(double *beta, const DDPMConfig *cfg) {
    int T = cfg->T;
    if (cfg->schedule == SCHEDULE_LINEAR || cfg->schedule == SCHEDULE_LINEAR_SCALED) {
        // linear-scaled keeps the DDPM paper's total noise when T differs from 1000:
        // betas scaled by 1000/T (as in the improved-DDPM code), so alpha_bar_T stays near 0
        double scale = cfg->schedule == SCHEDULE_LINEAR_SCALED ? 1000.0 / T : 1.0;
        double b1 = cfg->beta_start * scale, bT = cfg->beta_end * scale;
        for (int t = 1; t <= T; t++) beta[t] = b1 + (t - 1) * (bT - b1) / (T - 1);
    } else {
        // cosine (Nichol & Dhariwal 2021): alpha_bar(t) = f(t)/f(0), f(t) = cos^2((t/T + s)/(1+s) pi/2),
        // beta_t = 1 - alpha_bar(t)/alpha_bar(t-1), clipped at 0.999 as in their paper
        const double s = 0.008, half_pi = 1.5707963267948966;
        for (int t = 1; t <= T; t++) {
            double f_prev = cos(((double)(t - 1) / T + s) / (1 + s) * half_pi);
            double f_t = cos(((double)t / T + s) / (1 + s) * half_pi);
            double b = 1.0 - (f_t * f_t) / (f_prev * f_prev);
            beta[t] = b > 0.999 ? 0.999 : b;
        }
    }
    for (int t = 1; t <= T; t++) {
        if (!(beta[t] > 0.0 && beta[t] < 1.0))
            return ddpm_set_error(DDPM_ERR_SCHEDULE,
                "schedule: beta_%d = %g leaves (0, 1); every beta must satisfy 0 < beta < 1", t, beta[t]);
    }
    return DDPM_OK;
}

void schedule_array_slots(Schedule *s, float **slots[SCHEDULE_ARRAYS]) {
    float **list[SCHEDULE_ARRAYS] = { &s->beta, &s->alpha, &s->alpha_bar, &s->sqrt_alpha_bar,
        &s->sqrt_one_minus_alpha_bar, &s->posterior_variance, &s->posterior_coef_x0,
        &s->posterior_coef_xt, &s->eps_coef, &s->inv_sqrt_alpha, &s->log_snr };
    memcpy(slots, list, sizeof list);
}

int schedule_init(Schedule *s, const DDPMConfig *cfg) {
    int T = cfg->T;
    double *beta = calloc((size_t)T + 1, sizeof(double));
    if (!beta) return ddpm_set_error(DDPM_ERR_MEMORY, "schedule: out of memory");
    int err = make_betas(beta, cfg);
    if (err) { free(beta); return err; }
    s->T = T;
    float **arrays[SCHEDULE_ARRAYS];
    schedule_array_slots(s, arrays);
    float *block = calloc((size_t)SCHEDULE_ARRAYS * (T + 1), sizeof(float));
    if (!block) { free(beta); return ddpm_set_error(DDPM_ERR_MEMORY, "schedule: out of memory"); }
    for (int i = 0; i < SCHEDULE_ARRAYS; i++) *arrays[i] = block + (size_t)i * (T + 1);

    double alpha_bar_prev = 1.0;  // alpha_bar_0: no noise yet
    s->alpha[0] = 1.0f; s->alpha_bar[0] = 1.0f; s->sqrt_alpha_bar[0] = 1.0f; s->inv_sqrt_alpha[0] = 1.0f;
    s->log_snr[0] = NAN;  // no noise at all: the signal-to-noise ratio is infinite
    for (int t = 1; t <= T; t++) {
        double alpha = 1.0 - beta[t];
        double alpha_bar = alpha_bar_prev * alpha;
        s->beta[t] = (float)beta[t];
        s->alpha[t] = (float)alpha;
        s->alpha_bar[t] = (float)alpha_bar;
        s->sqrt_alpha_bar[t] = (float)sqrt(alpha_bar);
        s->sqrt_one_minus_alpha_bar[t] = (float)sqrt(1.0 - alpha_bar);
        // q(x_{t-1} | x_t, x_0) = N(coef_x0 x_0 + coef_xt x_t, beta_tilde_t I)   (DDPM eqs. 6-7)
        s->posterior_variance[t] = (float)((1.0 - alpha_bar_prev) / (1.0 - alpha_bar) * beta[t]);
        s->posterior_coef_x0[t] = (float)(beta[t] * sqrt(alpha_bar_prev) / (1.0 - alpha_bar));
        s->posterior_coef_xt[t] = (float)((1.0 - alpha_bar_prev) * sqrt(alpha) / (1.0 - alpha_bar));
        // mu = (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_t)   (DDPM eq. 11)
        s->eps_coef[t] = (float)(beta[t] / sqrt(1.0 - alpha_bar));
        s->inv_sqrt_alpha[t] = (float)(1.0 / sqrt(alpha));
        s->log_snr[t] = (float)log(alpha_bar / (1.0 - alpha_bar));
        alpha_bar_prev = alpha_bar;
    }
    free(beta);
    // The sampler divides by sqrt(alpha_bar_t) and by sqrt(1 - alpha_bar_t), in float. Betas in
    // (0, 1) can still make one of them 0: beta_1 = 1e-17 leaves 1 - alpha_bar_1 = 0 in double
    // (t = 1 adds no noise), and large betas over a long T take alpha_bar_t below what a float
    // holds. Either would make every sample Inf and be blamed on the weights: refused here.
    for (int t = 1; t <= T; t++) {
        const char *cause = NULL;
        if (!isfinite(1.0f / s->sqrt_one_minus_alpha_bar[t]) || !isfinite(s->log_snr[t]))
            cause = "1 - alpha_bar_t is too small for a float: that step adds no noise (raise beta_start)";
        else if (!isfinite(1.0f / s->sqrt_alpha_bar[t]))
            cause = "alpha_bar_t is too small for a float: the image is gone before t = T (lower beta_end or T)";
        else {
            const float *coef[] = { s->posterior_variance, s->posterior_coef_x0, s->posterior_coef_xt,
                                    s->eps_coef, s->inv_sqrt_alpha };
            for (size_t i = 0; i < sizeof coef / sizeof coef[0]; i++)
                if (!isfinite(coef[i][t])) cause = "a coefficient of the reverse step is not finite in float";
        }
        if (cause) {
            int err = ddpm_set_error(DDPM_ERR_SCHEDULE, "schedule: at t = %d (beta_t = %g, alpha_bar_t = %g), %s",
                                     t, (double)s->beta[t], (double)s->alpha_bar[t], cause);
            schedule_free(s);
            return err;
        }
    }
    return DDPM_OK;
}

void schedule_free(Schedule *s) {
    free(s->beta);  // the first array owns the block
    s->beta = NULL;
}
