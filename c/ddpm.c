// ddpm.c -- creating and freeing the whole state, and the training image.
// Every buffer is allocated here, once: training and sampling never allocate, so the memory
// budget is fixed when the model is made (ddpm_memory_bytes tells it beforehand). The one
// exception is a new plan of steps (ddpm_set_steps, train.c), which resizes the loss history.
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include "ddpm.h"

// Every buffer starts on a cache line. The kernels' vector loads read 16 bytes at a time; from an
// address that is not a multiple of 16, one load in four straddles two cache lines. malloc
// promises only 8 here (wasm32): the weights landed 16-aligned or not as the allocations before
// them happened to fall, and a forward pass took 4% longer when they did not (scripts/ab.mjs).
#define BUFFER_ALIGN 64

// the bytes a buffer of `count` floats takes, rounded up to whole cache lines (in 64 bits: the
// sum of a configuration's buffers may pass wasm32's size_t)
static uint64_t buffer_bytes(size_t count) {
    return ((uint64_t)count * sizeof(float) + BUFFER_ALIGN - 1) / BUFFER_ALIGN * BUFFER_ALIGN;
}

// zeroed floats on a cache line (freed with free)
static float *alloc_floats(size_t count) {
    uint64_t bytes = buffer_bytes(count);
    if (bytes > SIZE_MAX) return NULL;  // more than a size_t holds (wasm32)
    float *p = aligned_alloc(BUFFER_ALIGN, (size_t)bytes);
    if (p) memset(p, 0, (size_t)bytes);
    return p;
}

// The list of buffers ddpm_create allocates, as (pointer to the field, number of floats).
typedef struct { float **ptr; size_t count; } Buffer;
#define MAX_BUFFERS 64  // the room its callers give the list

static int list_buffers(Buffer *out, DDPM *m, const DDPMConfig *cfg) {
    ModelShape s;
    model_shape(&s, cfg);
    size_t P = s.num_params, D = (size_t)s.D, H = (size_t)s.H, E = (size_t)s.E, B = (size_t)cfg->max_batch;
    size_t T1 = (size_t)cfg->T + 1;
    Acts *a = &m->acts;
    Buffer list[] = {
        {&m->param_memory, P}, {&m->grad_memory, P}, {&m->m_memory, P}, {&m->v_memory, P},
        {&m->ema_memory, cfg->ema_decay > 0 ? P : 0},
        {&a->emb, B * E}, {&a->h0, B * D}, {&a->a1, B * H}, {&a->h1, B * H}, {&a->a2, B * H},
        {&a->h2, B * H}, {&a->out, B * D}, {&a->dout, B * D}, {&a->dh2, B * H}, {&a->da2, B * H},
        {&a->dh1, B * H}, {&a->da1, B * H}, {&a->dh0, B * D},
        {&m->x0, D}, {&m->xt_buf, B * D}, {&m->eps_buf, B * D}, {&m->target_buf, B * D},
        {&m->x_buf, B * D}, {&m->x_prev_buf, B * D}, {&m->eps_pred_buf, B * D}, {&m->x0_pred_buf, B * D},
        {&m->z_buf, B * D},
        {&m->traj_x, T1 * D}, {&m->traj_eps, T1 * D}, {&m->traj_x0, T1 * D},
        {&m->emb_table, T1 * E},
        {&m->wgrad_vectors, cfg->batch <= cfg->max_batch ? (size_t)cfg->batch * wgrad_floats_per_sample(&s) : 0},
    };
    _Static_assert(sizeof list / sizeof list[0] <= MAX_BUFFERS, "list_buffers: raise MAX_BUFFERS");
    int n = (int)(sizeof list / sizeof list[0]);
    if (out) memcpy(out, list, sizeof list);
    return n;
}

// the loss history holds one float per planned step (one at least, for a plan of none)
static size_t history_floats(const DDPMConfig *cfg) { return (size_t)(cfg->steps > 0 ? cfg->steps : 1); }

// summed in 64 bits: in wasm32 size_t is 32 bits, and the largest valid configurations need
// several GB (each buffer alone still fits a size_t; their sum need not)
uint64_t ddpm_memory_bytes(const DDPMConfig *cfg) {
    DDPM scratch;
    Buffer list[MAX_BUFFERS];
    int n = list_buffers(list, &scratch, cfg);
    // beside the buffers: t_buf and sample_t_buf, the sampler's generators, the loss history
    // (which ddpm_set_steps resizes, so it is not one of them), and the schedule's arrays
    uint64_t bytes = sizeof(DDPM) + 2 * (uint64_t)cfg->max_batch * sizeof(int) + (uint64_t)cfg->max_batch * sizeof(Rng) +
                     history_floats(cfg) * sizeof(float) +
                     (uint64_t)(cfg->T + 1) * SCHEDULE_ARRAYS * sizeof(float);
    for (int i = 0; i < n; i++) bytes += buffer_bytes(list[i].count);
    return bytes;
}

void ddpm_free(DDPM *m) {
    if (!m) return;
    Buffer list[MAX_BUFFERS];
    int n = list_buffers(list, m, &m->cfg);
    for (int i = 0; i < n; i++) free(*list[i].ptr);
    free(m->t_buf);
    free(m->sample_t_buf);
    free(m->loss_history);
    free(m->sampler.rngs);
    schedule_free(&m->sched);
    free(m);
}

DDPM *ddpm_create(const DDPMConfig *cfg) {
    if (ddpm_config_validate(cfg)) return NULL;
    DDPM *m = calloc(1, sizeof(DDPM));
    if (!m) { ddpm_set_error(DDPM_ERR_MEMORY, "create: out of memory"); return NULL; }
    m->cfg = *cfg;
    model_shape(&m->shape, cfg);
    if (schedule_init(&m->sched, cfg)) { free(m); return NULL; }
    Buffer list[MAX_BUFFERS];
    int n = list_buffers(list, m, cfg);
    int failed = 0;
    for (int i = 0; i < n; i++) {
        if (list[i].count == 0) continue;
        *list[i].ptr = alloc_floats(list[i].count);
        if (!*list[i].ptr) failed = 1;
    }
    m->t_buf = calloc((size_t)cfg->max_batch, sizeof(int));
    m->sample_t_buf = calloc((size_t)cfg->max_batch, sizeof(int));
    m->loss_history = calloc(history_floats(cfg), sizeof(float));
    m->sampler.rngs = calloc((size_t)cfg->max_batch, sizeof(Rng));
    if (failed || !m->t_buf || !m->sample_t_buf || !m->loss_history || !m->sampler.rngs) {
        ddpm_free(m);
        ddpm_set_error(DDPM_ERR_MEMORY, "create: out of memory (this configuration needs %llu bytes)",
                       (unsigned long long)ddpm_memory_bytes(cfg));
        return NULL;
    }
    m->update_pos = -1;
    params_point(&m->params, m->param_memory, &m->shape);
    params_point(&m->grads, m->grad_memory, &m->shape);
    // initialisation and training draws come from two streams of the same seed, so changing
    // how many draws one of them makes never changes the other
    Rng init_rng;
    rng_seed(&init_rng, cfg->seed, 1);
    params_init(&m->params, &m->shape, &init_rng);
    if (m->ema_memory) {
        params_point(&m->ema, m->ema_memory, &m->shape);
        memcpy(m->ema_memory, m->param_memory, m->shape.num_params * sizeof(float));
    }
    rng_seed(&m->rng, cfg->seed, 2);
    for (int t = 0; t <= cfg->T; t++) timestep_embedding(m->emb_table + (size_t)t * m->shape.E, t, m->shape.E);
    make_red_square(m->x0, cfg->image_size);
    return m;
}

void make_red_square(float *img, int S) {
    // black (-1) everywhere; a centred S/2 x S/2 square with R = 1, G = B = -1
    int lo = S / 4, hi = S / 4 + S / 2;  // rows and columns lo..hi-1 (4..11 for S = 16)
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            float *px = img + ((size_t)y * S + x) * 3;
            int inside = y >= lo && y < hi && x >= lo && x < hi;
            px[0] = inside ? 1.0f : -1.0f;
            px[1] = -1.0f;
            px[2] = -1.0f;
        }
}

// The sampler's defaults (what a caller of ddpm_sample that has no choice of its own uses, and
// what a checkpoint records): a page whose Sample panel chose them sets them before a Save, so
// that the file samples elsewhere as it did there.
int ddpm_set_sampling(DDPM *m, int sigma, int clip_x0) {
    DDPMConfig cfg = m->cfg;   // (checked as any config is: the model's, with these two in place)
    cfg.sigma = sigma;
    cfg.clip_x0 = clip_x0;
    int err = ddpm_config_validate(&cfg);
    if (err) return err;
    m->cfg = cfg;
    return DDPM_OK;
}

int ddpm_set_image(DDPM *m, const float *img, int n) {
    int D = m->shape.D;
    if (n != D)
        return ddpm_set_error(DDPM_ERR_IMAGE, "image: expected %d floats (%dx%dx3), got %d",
                              D, m->cfg.image_size, m->cfg.image_size, n);
    for (int i = 0; i < D; i++)
        if (!(img[i] >= -1.0f && img[i] <= 1.0f))
            return ddpm_set_error(DDPM_ERR_IMAGE, "image: value %d is %g; every value must be in [-1, 1]",
                                  i, (double)img[i]);
    // between steps only, as a save: a batch half gathered drew its samples from the old image
    // (one step would train on two), and an update under way computes the next step's forward
    // from x_t drawn of it
    if (ddpm_mid_step(m))
        return ddpm_set_error(DDPM_ERR_ARGUMENT, "image: a training step is half done; set the image between steps");
    memcpy(m->x0, img, sizeof(float) * D);
    m->next_forward = NEXT_NONE;  // a forward computed ahead saw the old image's x_t
    return DDPM_OK;
}
