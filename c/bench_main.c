// bench_main.c -- the native side of the speed benchmark (scripts/bench.mjs runs it). The same C
// as the wasm modules, built with cc -O3 -march=native, the same SIMD kernels too: their wasm
// intrinsics become SSE/AVX through SIMDe (c/simd.h). --scalar times the scalar twins instead.
//   ddpm_bench [--quick] [--scalar] [key=value ...]     e.g. hidden=1024 image_size=16 T=100
//   ddpm_bench --case NAME --warm N --reps N [--scalar] [key=value ...]
// Prints one JSON line: the median milliseconds (after warm-up) of each case, or of the one case
// named (scripts/bench.mjs runs it so, one repetition per turn, in turn with the wasm builds):
//   train_b1, train_b16      one optimiser step (forward, backward, AdamW) at batch 1 and 16
//   denoise_b1, denoise_b64  one denoiser forward for 1 and 64 images
//   sample_b1, sample_b64    a full T-step ancestral sampling of 1 and 64 images
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ddpm.h"

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, n, sizeof(double), cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

enum { TRAIN, DENOISE, SAMPLE };

// what the JSON's "build" field says: which kernels this process runs
static const char *build_name(void) {
    return kernels_have_simd() ? "native -O3 -march=native, SIMD kernels through SIMDe"
                               : "native -O3 -march=native, scalar twins";
}

// one repetition of a case; returns its milliseconds (or -1 on error)
static double run_once(DDPM *m, int kind, int n, float *x, int *ts, float *out) {
    double t0 = now_ms();
    int err = 0;
    if (kind == TRAIN) err = ddpm_train_steps(m, 1);
    else if (kind == DENOISE) err = ddpm_denoise(m, x, ts, n, out, 0);
    else err = ddpm_sample(m, n, 1, m->cfg.sigma, m->cfg.clip_x0, 0, out, NULL, NULL, NULL);
    double ms = now_ms() - t0;
    if (err) { fprintf(stderr, "ddpm_bench: %s\n", ddpm_last_error()); return -1; }
    return ms;
}

// median of reps runs after warm runs, on a fresh model of the given batch
static double bench_case(const DDPMConfig *base, int kind, int n, int warm, int reps) {
    DDPMConfig cfg = *base;
    cfg.batch = kind == TRAIN ? n : 1;
    cfg.max_batch = n;
    cfg.steps = warm + reps + 1;
    DDPM *m = ddpm_create(&cfg);
    if (!m) { fprintf(stderr, "ddpm_bench: %s\n", ddpm_last_error()); return -1; }
    int D = m->shape.D;
    float *x = malloc(sizeof(float) * (size_t)n * D), *out = malloc(sizeof(float) * (size_t)n * D);
    int *ts = malloc(sizeof(int) * (size_t)n);
    for (size_t i = 0; i < (size_t)n * D; i++) x[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    for (int b = 0; b < n; b++) ts[b] = 1 + (b * 37) % cfg.T;
    double *times = malloc(sizeof(double) * (size_t)reps), result = -1;
    int ok = 1;
    for (int i = 0; i < warm && ok; i++) ok = run_once(m, kind, n, x, ts, out) >= 0;
    for (int i = 0; i < reps && ok; i++) ok = (times[i] = run_once(m, kind, n, x, ts, out)) >= 0;
    if (ok) result = median(times, reps);
    free(times); free(x); free(out); free(ts);
    ddpm_free(m);
    return result;
}

int main(int argc, char **argv) {
    DDPMConfig cfg;
    ddpm_config_default(&cfg);  // the paper's table: 16x16x3, width 1024, T = 100
    int quick = 0, only_warm = -1, only_reps = -1;
    const char *only = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) { quick = 1; continue; }
        if (strcmp(argv[i], "--scalar") == 0) { kernels_force_scalar(1); continue; }
        if (i + 1 < argc && strcmp(argv[i], "--case") == 0) { only = argv[++i]; continue; }
        if (i + 1 < argc && strcmp(argv[i], "--warm") == 0) { only_warm = atoi(argv[++i]); continue; }
        if (i + 1 < argc && strcmp(argv[i], "--reps") == 0) { only_reps = atoi(argv[++i]); continue; }
        char key[64];
        const char *eq = strchr(argv[i], '=');
        if (!eq || eq - argv[i] >= (long)sizeof key) {
            fprintf(stderr, "usage: %s [--quick] [--scalar] [--case NAME --warm N --reps N] [key=value ...]\n", argv[0]);
            return 2;
        }
        memcpy(key, argv[i], eq - argv[i]);
        key[eq - argv[i]] = '\0';
        if (ddpm_config_set(&cfg, key, eq + 1)) { fprintf(stderr, "%s\n", ddpm_last_error()); return 2; }
    }
    // warm-up and repetitions per case: enough for a stable median, a few seconds each;
    // --quick only checks that everything runs
    struct { const char *name; int kind, n, warm, reps; } cases[] = {
        {"train_b1", TRAIN, 1, 5, 30},      {"train_b16", TRAIN, 16, 2, 10},
        {"denoise_b1", DENOISE, 1, 5, 50},  {"denoise_b64", DENOISE, 64, 2, 20},
        {"sample_b1", SAMPLE, 1, 1, 5},     {"sample_b64", SAMPLE, 64, 1, 3},
    };
    int ncases = (int)(sizeof cases / sizeof cases[0]);
    if (only) {
        for (int i = 0; i < ncases; i++) {
            if (strcmp(only, cases[i].name) != 0) continue;
            int warm = only_warm >= 0 ? only_warm : cases[i].warm, reps = only_reps >= 1 ? only_reps : cases[i].reps;
            double ms = bench_case(&cfg, cases[i].kind, cases[i].n, warm, reps);
            if (ms < 0) return 1;
            printf("{\"build\":\"%s\",\"%s\":%.4f}\n", build_name(), cases[i].name, ms);
            return 0;
        }
        fprintf(stderr, "ddpm_bench: unknown case '%s'\n", only);
        return 2;
    }
    printf("{\"build\":\"%s\",\"quick\":%s", build_name(), quick ? "true" : "false");
    for (int i = 0; i < ncases; i++) {
        int warm = quick ? 0 : cases[i].warm, reps = quick ? 1 : cases[i].reps;
        double ms = bench_case(&cfg, cases[i].kind, cases[i].n, warm, reps);
        if (ms < 0) return 1;
        printf(",\"%s\":%.4f", cases[i].name, ms);
        fflush(stdout);
    }
    printf("}\n");
    return 0;
}
