// Golden data for the weight types xinfer added after the first fixtures (the Q4_1, Q5_0, Q5_1,
// Q2_K, Q3_K, Q5_K, IQ4_NL and IQ4_XS entries of golden.json and activations.json), from the ggml
// that node-llama-cpp 3.22.1 ships prebuilt (llama.cpp tag v0.5.0): libggml-base's
// quantize_row_*_ref and dequantize_row_*, and libggml-cpu-haswell's AVX2 activation quantizer
// (quantize_row_q8_K, quantize_row_q8_0 or quantize_row_q8_1) and vec_dot. The LCG and input
// recipes are activations.test.ts's. To rebuild, with B the node-llama-cpp linux-x64 bins folder,
// input.f32 the golden input of a type with the same block size (Q4_K for 256, Q4_0 for 32) and
// acts.f32 the fixed activations (base64-decoded from the JSON files):
//   gcc -O2 -ffp-contract=off -o gen k-quant-golden.c -LB -l:libggml-cpu-haswell.so
//     -l:libggml-base.so -Wl,-rpath,B -lm && ./gen q5_K input.f32 acts.f32
// (likewise q2_K, q3_K and iq4_xs; q4_1, q5_0, q5_1 and iq4_nl with Q4_0's input). It writes
// golden-<type>.json and activations-<type>.json: the entries, without "source".
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

typedef void (*quantize_t)(const float *x, void *y, int64_t k);
typedef void (*dequantize_t)(const void *x, float *y, int64_t k);
typedef void (*vec_dot_t)(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by, int nrc);
#define DECLARE(t, a) \
  void quantize_row_##t##_ref(const float *x, void *y, int64_t k); \
  void dequantize_row_##t(const void *x, float *y, int64_t k); \
  void ggml_vec_dot_##t##_##a(int n, float *s, size_t bs, const void *vx, size_t bx, const void *vy, size_t by, int nrc);
DECLARE(q2_K, q8_K)
DECLARE(q3_K, q8_K)
DECLARE(q5_K, q8_K)
DECLARE(q4_1, q8_1)
DECLARE(q5_0, q8_0)
DECLARE(q5_1, q8_1)
DECLARE(iq4_nl, q8_0)
DECLARE(iq4_xs, q8_K)
void quantize_row_q8_K(const float *x, void *y, int64_t k);
void quantize_row_q8_0(const float *x, void *y, int64_t k);
void quantize_row_q8_1(const float *x, void *y, int64_t k);
void ggml_cpu_init(void);

/** A weight type: its functions, ggml type id, bytes and elements a block, and activation type. */
struct type_info {
  const char *name;
  quantize_t quantize_ref;
  dequantize_t dequantize;
  vec_dot_t vec_dot;
  int id;
  int bytes;
  int elements;
  quantize_t quantize_act;
};
#define TYPE(t, a, id, bytes, elements) \
  {#t, quantize_row_##t##_ref, dequantize_row_##t, ggml_vec_dot_##t##_##a, id, bytes, elements, quantize_row_##a}
static const struct type_info TYPES[] = {
  TYPE(q2_K, q8_K, 10, 84, 256),
  TYPE(q3_K, q8_K, 11, 110, 256),
  TYPE(q5_K, q8_K, 13, 176, 256),
  TYPE(q4_1, q8_1, 3, 20, 32),
  TYPE(q5_0, q8_0, 6, 22, 32),
  TYPE(q5_1, q8_1, 7, 24, 32),
  TYPE(iq4_nl, q8_0, 20, 18, 32),
  TYPE(iq4_xs, q8_K, 23, 136, 256),
};

static quantize_t quantize_ref;
static dequantize_t dequantize;
static vec_dot_t vec_dot;
static quantize_t quantize_act;
static int BLOCK; // bytes a block of the type
static int QB;    // elements a block

#define QK 256
#define Q8K 292

static uint32_t rng;
static uint32_t next_u32(void) { rng = rng * 1664525u + 1013904223u; return rng; }
static float u11(void) { return (float)(next_u32() >> 8) * 0x1p-23f - 1.0f; }
static const float SCALES[8] = {1.0f, 0.01f, 3.0f, 0.5f, 1000.0f, 1e-30f, 1.0f, 1e-39f};

static void make_act(int k, float *x, int n) {
  float s = SCALES[k];
  for (int i = 0; i < n; i++) {
    if (k == 2) {
      float a = u11(), b = u11(), c = u11(), d = u11();
      volatile float t = a + b; t = t + c; t = t + d; x[i] = t * s;
    } else if (k == 3) {
      x[i] = (float)((int)(next_u32() >> 24) - 128) * s;
      if (i % 32 == 0) x[i] = (next_u32() >> 31) ? 127.0f : -127.0f;
    } else {
      x[i] = u11() * s;
    }
    if (k == 6 && ((i / 32) % 3 == 1 || (i >= 256 && i < 512))) x[i] = 0;
  }
  if (k == 1 && n > 0) x[(next_u32() >> 8) % n] = 50;
}

static void make_weights(int k, float *v, int n) {
  for (int i = 0; i < n; i++) {
    if (k == 1) {
      float a = u11(), b = u11(), c = u11();
      volatile float t = a + b; t = t + c; v[i] = t * 0.05f;
    } else {
      v[i] = u11() * 0.1f;
    }
  }
  if (k == 2 && n > 0) v[(next_u32() >> 8) % n] = -2.5f;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static void b64(FILE *f, const void *data, size_t len) {
  const uint8_t *p = data;
  fputc('"', f);
  for (size_t i = 0; i < len; i += 3) {
    uint32_t v = p[i] << 16;
    if (i + 1 < len) v |= p[i + 1] << 8;
    if (i + 2 < len) v |= p[i + 2];
    fputc(B64[(v >> 18) & 63], f);
    fputc(B64[(v >> 12) & 63], f);
    fputc(i + 1 < len ? B64[(v >> 6) & 63] : '=', f);
    fputc(i + 2 < len ? B64[v & 63] : '=', f);
  }
  fputc('"', f);
}

static float dot(const uint8_t *row, const float *x, int n) {
  static uint8_t act[16 * Q8K];
  quantize_act(x, act, n);
  float s;
  vec_dot(n, &s, 0, row, 0, act, 0, 1);
  return s;
}

int main(int argc, char **argv) {
  if (argc != 4) return 2;
  const char *type = argv[1];
  const struct type_info *t = NULL;
  for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++) {
    if (!strcmp(type, TYPES[i].name)) t = &TYPES[i];
  }
  if (!t) return 2;
  quantize_ref = t->quantize_ref;
  dequantize = t->dequantize;
  vec_dot = t->vec_dot;
  quantize_act = t->quantize_act;
  BLOCK = t->bytes;
  QB = t->elements;
  int type_id = t->id;
  ggml_cpu_init();
  // golden.json: 12 cases of one block, argv[2] as raw f32.
  FILE *in = fopen(argv[2], "rb");
  static float input[12 * QK];
  if (fread(input, sizeof(float), 12 * QB, in) != (size_t)(12 * QB)) return 1;
  fclose(in);
  static uint8_t quant[12 * 256];
  static float deq[12 * QK];
  for (int c = 0; c < 12; c++) quantize_ref(input + c * QB, quant + c * BLOCK, QB);
  dequantize(quant, deq, 12 * QB);
  // Raw blocks: random bytes, with finite d and dmin (f16 exponent below 31).
  static uint8_t raw[8 * 256];
  static float rawDeq[8 * QK];
  rng = 12345;
  for (int i = 0; i < 8 * BLOCK; i++) raw[i] = next_u32() >> 24;
  // Finite f16 scales: clear an exponent bit of each (d, dmin: bytes 1 and 3 of Q5_K; the last two
  // f16 of Q2_K; the last one of Q3_K).
  for (int b = 0; b < 8; b++) {
    int hi[2] = {1, 3};
    if (!strcmp(type, "q2_K")) { hi[0] = 81; hi[1] = 83; }
    if (!strcmp(type, "q3_K")) { hi[0] = 109; hi[1] = 109; }
    if (!strcmp(type, "iq4_nl") || !strcmp(type, "iq4_xs") || !strcmp(type, "q5_0")) {
      hi[0] = 1;
      hi[1] = 1;
    }
    // d and m.
    raw[b * BLOCK + hi[0]] &= 0xbb;
    raw[b * BLOCK + hi[1]] &= 0xbb;
  }
  dequantize(raw, rawDeq, 8 * QB);
  char name[64];
  snprintf(name, sizeof name, "golden-%s.json", type);
  FILE *g = fopen(name, "w");
  fprintf(g, "{\"input\":"); b64(g, input, 12 * QB * sizeof(float));
  fprintf(g, ",\"quant\":"); b64(g, quant, 12 * BLOCK);
  fprintf(g, ",\"dequant\":"); b64(g, deq, 12 * QB * sizeof(float));
  fprintf(g, ",\"raw\":"); b64(g, raw, 8 * BLOCK);
  fprintf(g, ",\"rawDequant\":"); b64(g, rawDeq, 8 * QB * sizeof(float));
  fprintf(g, "}\n");
  fclose(g);

  // activations.json: fixed acts (argv[3], 4 × 512 f32), 3 rows, dots[row][act][full, prefix].
  in = fopen(argv[3], "rb");
  static float acts[4 * 512];
  if (fread(acts, sizeof(float), 4 * 512, in) != 4 * 512) return 1;
  fclose(in);
  static float w[3 * 512];
  rng = 777;
  for (int r = 0; r < 3; r++) make_weights(r, w + r * 512, 512);
  const int rowBytes = 512 / QB * BLOCK;
  static uint8_t rows[3 * 2 * 256 * 2];
  for (int r = 0; r < 3; r++) quantize_ref(w + r * 512, rows + r * rowBytes, 512);
  static float dots[3 * 4 * 2];
  for (int r = 0; r < 3; r++)
    for (int a = 0; a < 4; a++) {
      dots[(r * 4 + a) * 2] = dot(rows + r * rowBytes, acts + a * 512, 512);
      dots[(r * 4 + a) * 2 + 1] = dot(rows + r * rowBytes, acts + a * 512, QB);
    }
  // Stress: the test's recipe, seed imul(99991, type + 1).
  static float stress[256];
  static float v[4096], x[4096];
  static uint8_t row[16 * 256];
  rng = 99991u * (uint32_t)(type_id + 1);
  for (int c = 0; c < 256; c++) {
    int n = QB == 32 ? 32 * (1 + (c % 16)) : 256 * (1 + (c % 3));
    make_weights(c % 3, v, n);
    make_act(c % 8, x, n);
    quantize_ref(v, row, n);
    stress[c] = dot(row, x, n);
  }
  snprintf(name, sizeof name, "activations-%s.json", type);
  FILE *a = fopen(name, "w");
  fprintf(a, "{\"rows\":"); b64(a, rows, 3 * rowBytes);
  fprintf(a, ",\"dots\":"); b64(a, dots, sizeof dots);
  fprintf(a, ",\"stressDots\":"); b64(a, stress, sizeof stress);
  fprintf(a, "}\n");
  fclose(a);
  return 0;
}
