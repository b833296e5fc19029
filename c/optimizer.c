// optimizer.c -- the update of a training step: AdamW (Loshchilov & Hutter, decoupled weight
// decay, in PyTorch's form) over the parameters, the EMA of the weights, and the learning rate
// of the step. The kernels (adamw_update, adamw_update_outer) do the arithmetic; this file says
// which parameters go when, with two fusions for speed that change no bits (tests/fused_*.test.mjs
// and the native self-test hold them to the plain order that ddpm_force_unfused asks for):
//   - the weight gradients are formed inside AdamW from the vectors they are made of
//     (wgrad_save), never written to memory;
//   - the next step's forward rides along the update, row block by row block, while each
//     block's new weights are still in cache (next_forward_begin in train.c begins it).
#include <math.h>
#include <string.h>
#include "ddpm.h"

float ddpm_current_lr(const DDPM *m) {
    const DDPMConfig *c = &m->cfg;
    if (c->lr_schedule == LR_CONSTANT || c->steps == 0) return (float)c->lr;
    // cosine decay from lr (the first update) towards lr * lr_min_frac, reached one step after
    // the last, as PyTorch's CosineAnnealingLR with T_max = steps: reaching it at the last step
    // would make that update, at the default lr_min_frac = 0, a step of size zero
    double progress = (double)m->step / (double)c->steps;
    if (progress > 1.0) progress = 1.0;
    double frac = c->lr_min_frac + (1.0 - c->lr_min_frac) * 0.5 * (1.0 + cos(3.141592653589793 * progress));
    return (float)(c->lr * frac);
}

// ---------------------------------------------------------------------------
// Fused weight gradients. Over a batch of B samples the weight gradient of a Linear layer is
// dW = dout^T inp: B outer products. Zeroing grad_memory (11 MB at the default size), writing dW
// into it and reading it back in AdamW is about a third of the memory traffic of a batch-1 step,
// which is bound by memory traffic (docs/bench.md: fused vs unfused at batch 1 and 16). So when a
// batch fits one micro-batch (batch <= max_batch), whether it comes in one call or in pieces,
// the backward pass computes only dinp and the bias gradients, each piece copies its samples'
// two vectors per layer (LayerIO's inp and dout) into their rows of m->wgrad_vectors (a few
// thousand floats per sample, copied so that sampling between the pieces or the two phases of a
// step cannot disturb them), and AdamW forms each weight's gradient as it updates it
// (adamw_update_outer). Same bits as the unfused path (kernels.c). grad_memory then holds only
// the bias gradients of the step.
// Layout of m->wgrad_vectors: for each layer l in order, its inp (batch, C + WGRAD_PAD), then
// its dout (batch, OC + WGRAD_PAD):
//   emb, dh0 | h0, da1 | h1, da2 | h2, dout

size_t wgrad_floats_per_sample(const ModelShape *s) {
    size_t n = 0;
    for (int l = 0; l < MODEL_LAYERS; l++) {
        int C, OC;
        model_layer_dims(s, l, &C, &OC);
        n += (size_t)C + WGRAD_PAD + (size_t)OC + WGRAD_PAD;
    }
    return n;
}

// layer l's saved vectors in m->wgrad_vectors: its inp (batch, *ldx) at *inp, its dout
// (batch, *ldd) at *dout
static void wgrad_layer(const DDPM *m, int l, float **inp, int *ldx, float **dout, int *ldd) {
    size_t batch = (size_t)m->cfg.batch;
    float *r = m->wgrad_vectors;
    int C, OC;
    for (int i = 0; i < l; i++) {
        model_layer_dims(&m->shape, i, &C, &OC);
        r += batch * ((size_t)C + WGRAD_PAD + (size_t)OC + WGRAD_PAD);
    }
    model_layer_dims(&m->shape, l, &C, &OC);
    *ldx = C + WGRAD_PAD;
    *ldd = OC + WGRAD_PAD;
    *inp = r;
    *dout = r + batch * (size_t)*ldx;
}

void wgrad_save(DDPM *m, int first, int B) {
    for (int l = 0; l < MODEL_LAYERS; l++) {
        LayerIO io = model_layer_io(&m->params, &m->shape, &m->acts, l);
        float *inp, *dout;
        int ldx, ldd;
        wgrad_layer(m, l, &inp, &ldx, &dout, &ldd);
        for (int b = first; b < first + B; b++) {
            memcpy(inp + (size_t)b * ldx, io.inp + (size_t)(b - first) * io.C, sizeof(float) * io.C);
            memcpy(dout + (size_t)b * ldd, io.dout + (size_t)(b - first) * io.OC, sizeof(float) * io.OC);
        }
    }
}

// ---------------------------------------------------------------------------
// The update, in slices.

// the next step's forward is computed in blocks of this many floats of W (whole rows): 128 KB,
// still in L2 when the block's outputs read them back
#define NEXT_BLOCK_FLOATS 32768

// AdamW on [a, b) of tensor k, which starts at parameter `start`: a weight matrix from its
// saved vectors (the fused path, see wgrad_save), otherwise from grad_memory. With next_inp
// (fused, batch 1), the kernel also gives the next step's outputs of the rows wholly in [a, b).
static void update_range(DDPM *m, int k, size_t start, size_t a, size_t b, const AdamWStep *h,
                         const float *next_inp, float *next_out) {
    if (m->wgrad_ready && k % 2 == 0) {
        float *inp, *dout;
        int ldx, ldd;
        wgrad_layer(m, k / 2, &inp, &ldx, &dout, &ldd);
        int C, OC;
        model_layer_dims(&m->shape, k / 2, &C, &OC);
        adamw_update_outer(m->param_memory + start, m->m_memory + start, m->v_memory + start, dout, ldd, inp, ldx,
                           m->cfg.batch, C, (long)(a - start), (long)(b - start), h, next_inp, next_out);
    } else {
        adamw_update(m->param_memory + a, m->grad_memory + a, m->m_memory + a, m->v_memory + a, (int)(b - a), h);
    }
}

// AdamW on [a, b) of layer l's weights (tensor k = 2l, from parameter `start`) while the next
// step's forward rides along: each row of W finished here gives its outputs at once
static void update_weights_with_next_forward(DDPM *m, int l, size_t start, size_t a, size_t b, const AdamWStep *h) {
    const DDPMConfig *c = &m->cfg;
    int k = 2 * l;
    // row o of this layer is finished once parameter start + (o + 1) C is reached
    int layer_C, layer_OC;
    model_layer_dims(&m->shape, l, &layer_C, &layer_OC);
    size_t C = (size_t)layer_C, ra = a - start, rb = b - start;
    if (m->wgrad_ready && c->batch == 1) {
        // batch 1: each row's output formed in the kernel, while the row is in registers; a row
        // that an earlier slice began is read back once this slice finishes it
        LayerIO io = model_layer_io(&m->params, &m->shape, &m->acts, l);
        update_range(m, k, start, a, b, h, io.inp, io.out);
        if (ra % C != 0 && ra / C < rb / C) model_forward_rows(&m->params, &m->shape, &m->acts, l, (int)(ra / C), (int)(ra / C) + 1, 1);
        return;
    }
    // in blocks of rows; the rows each block finishes are read back from the cache. A multiple
    // of 4 rows (32 at C = 1024, 44 at C = 768), so that AdamW forms every row's gradient in the
    // 4-row tiles (c/kernels.c), and none in the slower row-by-row loop
    size_t rows = (NEXT_BLOCK_FLOATS / C + 3) / 4 * 4;
    if (rows < 4) rows = 4;
    for (size_t x = a; x < b;) {
        size_t y = start + ((x - start) / C + rows) * C;
        if (y > b) y = b;
        update_range(m, k, start, x, y, h, NULL, NULL);
        int o0 = (int)((x - start) / C), o1 = (int)((y - start) / C);
        if (o0 < o1) model_forward_rows(&m->params, &m->shape, &m->acts, l, o0, o1, c->batch);
        x = y;
    }
}

// ema = decay * ema + (1 - decay) * param, over [lo, hi)
static void ema_update(DDPM *m, size_t lo, size_t hi) {
    float d = (float)m->cfg.ema_decay, one_minus_d = 1.0f - d;
    for (size_t i = lo; i < hi; i++) m->ema_memory[i] = d * m->ema_memory[i] + one_minus_d * m->param_memory[i];
}

void optimizer_update(DDPM *m, size_t lo, size_t hi) {
    const DDPMConfig *c = &m->cfg;
    // bias correction counts the updates since the moments were last zero (adam_steps), which is
    // not the step count after a weights-only checkpoint was loaded
    AdamWStep h = {
        .lr = ddpm_current_lr(m), .beta1 = (float)c->beta1, .beta2 = (float)c->beta2, .eps = (float)c->adam_eps,
        .weight_decay = (float)c->weight_decay,
        .bias_correction1 = (float)(1.0 - pow(c->beta1, m->adam_steps + 1)),
        .bias_correction2 = (float)(1.0 - pow(c->beta2, m->adam_steps + 1)),
    };
    // another forward (a sample drawn between two slices of the update) took the activations
    if (m->next_forward == NEXT_RUNNING && m->acts.generation != m->next_generation) m->next_forward = NEXT_NONE;
    int next = m->next_forward == NEXT_RUNNING;
    size_t start = 0;
    for (int k = 0; k < NUM_PARAM_TENSORS; k++) {
        size_t end = start + m->shape.sizes[k];
        size_t a = lo > start ? lo : start, b = hi < end ? hi : end;
        if (a < b && next && k % 2 == 0) update_weights_with_next_forward(m, k / 2, start, a, b, &h);
        else if (a < b) update_range(m, k, start, a, b, &h, NULL, NULL);
        // the layer's bias, its last tensor, is done: its outputs are complete
        if (a < b && next && k % 2 == 1 && b == end)
            model_forward_finish(&m->params, &m->shape, c->activation, &m->acts, m->xt_buf, k / 2, c->batch);
        start = end;
    }
    // every MOMENT_FLUSH_EVERY updates (counted as the bias correction counts them), the moments
    // this slice has just written: a moment whose gradient stays 0 then never decays into the
    // subnormal floats (c/kernels.c, "Subnormal floats")
    if ((m->adam_steps + 1) % MOMENT_FLUSH_EVERY == 0) moments_flush(m->m_memory + lo, m->v_memory + lo, hi - lo);
    if (m->ema_memory) ema_update(m, lo, hi);
}
