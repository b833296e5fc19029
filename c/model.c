// model.c -- the denoiser: its parameters, the forward pass (layer by layer, for the update that
// computes the next step's forward also in pieces: model_forward_rows) and the backward pass
// (model_backward, one matmul_backward and one act_backward per layer, in reverse).
//
//   emb  = sinusoidal(t)                    (E)      E = 128
//   h0   = x_t + temb_w emb + temb_b        (D)      D = 768: the embedding is added to the input
//   a1   = fc1_w h0 + fc1_b                 (H)      H = 1024
//   h1   = act(a1)
//   a2   = fc2_w h1 + fc2_b                 (H)
//   h2   = act(a2)
//   out  = fc3_w h2 + fc3_b                 (D)      eps_pred (or x0_pred)
#include <math.h>
#include <string.h>
#include "ddpm.h"

void model_shape(ModelShape *shape, const DDPMConfig *cfg) {
    int D = cfg->image_size * cfg->image_size * 3, H = cfg->hidden, E = cfg->temb_dim;
    shape->D = D; shape->H = H; shape->E = E;
    size_t sizes[NUM_PARAM_TENSORS] = {
        (size_t)D * E, (size_t)D,   // temb
        (size_t)H * D, (size_t)H,   // fc1
        (size_t)H * H, (size_t)H,   // fc2
        (size_t)D * H, (size_t)D,   // fc3
    };
    shape->num_params = 0;
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        shape->sizes[i] = sizes[i];
        shape->num_params += sizes[i];
    }
}

void params_point(Params *p, float *memory, const ModelShape *shape) {
    float **ptrs[NUM_PARAM_TENSORS] = { &p->temb_w, &p->temb_b, &p->fc1_w, &p->fc1_b,
                                        &p->fc2_w, &p->fc2_b, &p->fc3_w, &p->fc3_b };
    for (int i = 0; i < NUM_PARAM_TENSORS; i++) {
        *ptrs[i] = memory;
        memory += shape->sizes[i];
    }
}

// PyTorch's nn.Linear default: W and b ~ U(-1/sqrt(in), 1/sqrt(in)).
static void linear_init(float *W, float *b, int in, int out, Rng *rng) {
    float bound = 1.0f / sqrtf((float)in);
    for (size_t i = 0; i < (size_t)in * out; i++) W[i] = (2.0f * rng_uniform(rng) - 1.0f) * bound;
    for (int i = 0; i < out; i++) b[i] = (2.0f * rng_uniform(rng) - 1.0f) * bound;
}

void params_init(Params *p, const ModelShape *s, Rng *rng) {
    linear_init(p->temb_w, p->temb_b, s->E, s->D, rng);
    linear_init(p->fc1_w, p->fc1_b, s->D, s->H, rng);
    linear_init(p->fc2_w, p->fc2_b, s->H, s->H, rng);
    linear_init(p->fc3_w, p->fc3_b, s->H, s->D, rng);
}

// out (dim): the sinusoidal embedding of t, with the Transformer's frequencies (Vaswani et al.),
// frequency_i = 10000^(-i / (dim/2)), laid out as Ho et al.'s code lays it out, sin half then cos
// half (theirs divides by dim/2 - 1 instead of dim/2; the write-up does not say). In double, rounded once; the table of every t (DDPM.emb_table) is made from it
void timestep_embedding(float *out, int t, int dim) {
    int half = dim / 2;
    for (int i = 0; i < half; i++) {
        double freq = exp(-log(10000.0) * i / half);
        out[i] = (float)sin(t * freq);
        out[half + i] = (float)cos(t * freq);
    }
}

// emb (B,E) from ts (B): rows of the table of every t's embedding (its sin and cos in double
// cost more than a batched sampling step's copy of them)
static void embedding_forward(float *emb, const float *emb_table, const int *ts, int B, int E) {
    for (int b = 0; b < B; b++) memcpy(emb + (size_t)b * E, emb_table + (size_t)ts[b] * E, sizeof(float) * E);
}

// h0 (B,D) = x (B,D) + temb (B,D); temb is already in h0
static void add_input_forward(float *h0, const float *x, int B, int D) {
    for (size_t i = 0; i < (size_t)B * D; i++) h0[i] += x[i];
}

void model_layer_dims(const ModelShape *s, int l, int *C, int *OC) {
    int D = s->D, H = s->H, E = s->E;
    int in[MODEL_LAYERS] = { E, D, H, H }, out[MODEL_LAYERS] = { D, H, H, D };
    *C = in[l];
    *OC = out[l];
}

LayerIO model_layer_io(const Params *p, const ModelShape *s, Acts *a, int l) {
    // the gradient at each layer's output is the one its weight gradient is made of: at the
    // embedding's projection, the gradient of h0 (h0 = x_t + temb passes it on unchanged)
    LayerIO io[MODEL_LAYERS] = {
        { .inp = a->emb, .W = p->temb_w, .bias = p->temb_b, .out = a->h0, .dout = a->dh0 },
        { .inp = a->h0, .W = p->fc1_w, .bias = p->fc1_b, .out = a->a1, .dout = a->da1 },
        { .inp = a->h1, .W = p->fc2_w, .bias = p->fc2_b, .out = a->a2, .dout = a->da2 },
        { .inp = a->h2, .W = p->fc3_w, .bias = p->fc3_b, .out = a->out, .dout = a->dout },
    };
    model_layer_dims(s, l, &io[l].C, &io[l].OC);
    return io[l];
}

// The forward pass comes in pieces for a caller that has a layer's rows of W at hand at
// different times (c/optimizer.c computes the next step's forward while the update writes the
// weights): model_forward_begin, then for each layer in order model_forward_rows over all its
// rows (in blocks, in any order) and model_forward_finish. model_forward is exactly that, so
// both give the same bits.
void model_forward_begin(const ModelShape *s, Acts *a, const float *emb_table, const int *ts, int B) {
    a->generation++;  // whatever these activations held is gone (c/train.c and c/optimizer.c check this)
    embedding_forward(a->emb, emb_table, ts, B, s->E);
}

void model_forward_rows(const Params *p, const ModelShape *s, Acts *a, int l, int o0, int o1, int B) {
    LayerIO io = model_layer_io(p, s, a, l);
    matmul_dots(io.out + o0, io.OC, io.inp, io.W + (size_t)o0 * io.C, B, io.C, o1 - o0);  // out[:, o0..o1-1]
}

void model_forward_finish(const Params *p, const ModelShape *s, int activation, Acts *a, const float *x, int l, int B) {
    LayerIO io = model_layer_io(p, s, a, l);
    add_bias(io.out, io.bias, B, io.OC);
    if (l == 0) add_input_forward(a->h0, x, B, s->D);                 // h0 = x_t + temb
    else if (l == 1) act_forward(a->h1, a->a1, B * s->H, activation);
    else if (l == 2) act_forward(a->h2, a->a2, B * s->H, activation);
}

// The forward pass, written out: the pieces above compute exactly this (tests/fused_forward.test.mjs
// holds a step that uses them to one that uses this, bit for bit)
void model_forward(const Params *p, const ModelShape *s, int activation, Acts *a,
                   const float *emb_table, const float *x, const int *ts, int B) {
    int D = s->D, H = s->H, E = s->E;
    a->generation++;
    embedding_forward(a->emb, emb_table, ts, B, E);                   // emb (B,E): sin and cos of t
    matmul_forward(a->h0, a->emb, p->temb_w, p->temb_b, B, E, D);     // temb (B,D), in h0
    add_input_forward(a->h0, x, B, D);                                // h0 (B,D) = x_t + temb
    matmul_forward(a->a1, a->h0, p->fc1_w, p->fc1_b, B, D, H);        // a1 (B,H)
    act_forward(a->h1, a->a1, B * H, activation);                     // h1 = act(a1)
    matmul_forward(a->a2, a->h1, p->fc2_w, p->fc2_b, B, H, H);        // a2 (B,H)
    act_forward(a->h2, a->a2, B * H, activation);                     // h2 = act(a2)
    matmul_forward(a->out, a->h2, p->fc3_w, p->fc3_b, B, H, D);       // out (B,D): eps_pred or x0_pred
}

void model_backward(const Params *p, Params *g, const ModelShape *s, int activation, Acts *a, int B) {
    // from dout (B,D), the loss's gradient at the output; weight and bias gradients add into g
    int D = s->D, H = s->H, E = s->E;
    matmul_backward(a->dh2, g->fc3_w, g->fc3_b, a->dout, a->h2, p->fc3_w, B, H, D);  // dh2 (B,H)
    act_backward(a->da2, a->a2, a->dh2, B * H, activation);                         // da2 (B,H)
    matmul_backward(a->dh1, g->fc2_w, g->fc2_b, a->da2, a->h1, p->fc2_w, B, H, H);  // dh1 (B,H)
    act_backward(a->da1, a->a1, a->dh1, B * H, activation);                         // da1 (B,H)
    matmul_backward(a->dh0, g->fc1_w, g->fc1_b, a->da1, a->h0, p->fc1_w, B, D, H);  // dh0 (B,D)
    // h0 = x_t + temb: the gradient reaches temb unchanged; x_t is data, so it stops there
    matmul_backward(NULL, g->temb_w, g->temb_b, a->dh0, a->emb, p->temb_w, B, E, D);  // (no demb)
}
