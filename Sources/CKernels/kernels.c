// CKernels: the matrix-product kernels behind NeuralNet's hot loops: the reference loops,
// the fast blocked gemm compiled for several instruction sets, and the run-time choice.
//
// Why run-time dispatch: a plain `swift build -c release` targets generic x86-64 (SSE2),
// and SIMD code without FMA/AVX ran 3-4x slower on our machines than with the CPU's
// features. Compiling the whole package with -march=native would make binaries that
// crash on older CPUs (and SwiftPM offers no portable per-target -march). So the fast
// gemm is compiled three times from one source (gemm_template.h), for AVX-512F, for
// AVX2+FMA and for the baseline, each copy marked with a clang `target` attribute; the
// first call picks the best copy the CPU supports (`__builtin_cpu_supports`). x86-only
// code sits behind `#if defined(__x86_64__)`; other architectures build the generic copy
// (16-byte vectors, which every 64-bit target has).
#include "CKernels.h"

#include <stdlib.h>
#include <string.h>

// Products with m*n*k up to this many multiply-adds take the direct loops: below it,
// packing costs more than it saves.
#define SMALL_WORK 512

// ---------------------------------------------------------------------------------------
// Reference loops: the straightforward definition the fast kernels are tested against.

#define REFERENCE_GEMM(NAME, T)                                                         \
void NAME(int transA, int transB, int m, int n, int k, T alpha, const T *A, int lda,   \
          const T *B, int ldb, T beta, T *C, int ldc) {                                 \
    for (int i = 0; i < m; i++) {                                                       \
        for (int j = 0; j < n; j++) {                                                   \
            T sum = 0;                                                                  \
            for (int p = 0; p < k; p++) {                                               \
                T a = transA ? A[p * lda + i] : A[i * lda + p];                         \
                T b = transB ? B[j * ldb + p] : B[p * ldb + j];                         \
                sum += a * b;                                                           \
            }                                                                           \
            C[i * ldc + j] = beta == 0 ? alpha * sum : alpha * sum + beta * C[i * ldc + j]; \
        }                                                                               \
    }                                                                                   \
}

REFERENCE_GEMM(slope_sgemm_reference, float)
REFERENCE_GEMM(slope_dgemm_reference, double)

// ---------------------------------------------------------------------------------------
// Fast kernels, one instantiation per (type, ISA).

// Generic: 16-byte vectors (SSE2 on x86-64, NEON on arm64).
#define KC 256
#define NC 512
#define VEC_BYTES 16
#define MR 4
#define TMR 4
#define T float
#define PREFIX s_generic_
#include "gemm_template.h"
#include "elementwise_template.h"
#undef T
#undef PREFIX
#define T double
#define PREFIX d_generic_
#include "gemm_template.h"
#include "elementwise_template.h"
#undef T
#undef PREFIX
#undef MR
#undef TMR
#undef VEC_BYTES

#if defined(__x86_64__)
// AVX2 + FMA (16 ymm registers): 6 x 2 accumulators + 2 B vectors + 1 broadcast.
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define VEC_BYTES 32
#define MR 6
#define TMR 6
#define T float
#define PREFIX s_avx2_
#include "gemm_template.h"
#include "elementwise_template.h"
#undef T
#undef PREFIX
#define T double
#define PREFIX d_avx2_
#include "gemm_template.h"
#include "elementwise_template.h"
#undef T
#undef PREFIX
#undef MR
#undef TMR
#undef VEC_BYTES
#pragma clang attribute pop

// AVX-512F (32 zmm registers): 8 x 2 accumulators. MR = 8 divides every batch size and
// layer width of the workloads, so no rows are wasted on padding.
#pragma clang attribute push(__attribute__((target("avx512f,avx2,fma"))), apply_to = function)
#define VEC_BYTES 64
#define MR 8
#define TMR 12
#define T float
#define PREFIX s_avx512_
#include "gemm_template.h"
#include "elementwise_template.h"
#undef T
#undef PREFIX
#define T double
#define PREFIX d_avx512_
#include "gemm_template.h"
#include "elementwise_template.h"
#undef T
#undef PREFIX
#undef MR
#undef TMR
#undef VEC_BYTES
#pragma clang attribute pop
#endif

// ---------------------------------------------------------------------------------------
// Dispatch.

typedef void (*sgemm_fn)(int, int, int, int, int, float, const float *, int, const float *, int,
                         float, float *, int);
typedef void (*dgemm_fn)(int, int, int, int, int, double, const double *, int, const double *,
                         int, double, double *, int);

#define ELEMENTWISE(S, D)                                                               \
    {S##bias_activate, D##bias_activate, S##relu_backward, D##relu_backward,             \
     S##column_sums, D##column_sums, S##sgd_step, D##sgd_step}

static const struct {
    const char *name;
    sgemm_fn sgemm;
    dgemm_fn dgemm;
    slope_elementwise_kernels elementwise;
} implementations[] = {
    [SLOPE_ISA_GENERIC] = {"generic", s_generic_gemm, d_generic_gemm, ELEMENTWISE(s_generic_, d_generic_)},
#if defined(__x86_64__)
    [SLOPE_ISA_AVX2_FMA] = {"avx2-fma", s_avx2_gemm, d_avx2_gemm, ELEMENTWISE(s_avx2_, d_avx2_)},
    [SLOPE_ISA_AVX512] = {"avx512", s_avx512_gemm, d_avx512_gemm, ELEMENTWISE(s_avx512_, d_avx512_)},
#endif
};

int slope_isa_supported(slope_isa isa) {
    switch (isa) {
    case SLOPE_ISA_GENERIC:
        return 1;
#if defined(__x86_64__)
    case SLOPE_ISA_AVX2_FMA:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SLOPE_ISA_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx2") &&
               __builtin_cpu_supports("fma");
#endif
    default:
        return 0;
    }
}

static slope_isa chooseISA(void) {
    const char *forced = getenv("SLOPE_KERNEL_ISA");  // for benchmarking the fallbacks
    if (forced) {
        for (int i = 0; i < (int)(sizeof implementations / sizeof implementations[0]); i++)
            if (implementations[i].name && strcmp(forced, implementations[i].name) == 0 &&
                slope_isa_supported((slope_isa)i))
                return (slope_isa)i;
    }
    for (int i = (int)(sizeof implementations / sizeof implementations[0]) - 1; i > 0; i--)
        if (implementations[i].name && slope_isa_supported((slope_isa)i)) return (slope_isa)i;
    return SLOPE_ISA_GENERIC;
}

// -1 until the first call decides; racing first calls decide the same thing.
static int chosenISA = -1;

static inline slope_isa currentISA(void) {
    int isa = __atomic_load_n(&chosenISA, __ATOMIC_RELAXED);
    if (__builtin_expect(isa < 0, 0)) {
        isa = (int)chooseISA();
        __atomic_store_n(&chosenISA, isa, __ATOMIC_RELAXED);
    }
    return (slope_isa)isa;
}

const char *slope_kernel_isa(void) { return implementations[currentISA()].name; }

// Degenerate shapes are settled here, so the instantiations may assume m, n, k > 0 and alpha != 0.
#define SCALE_ONLY(T)                                                                   \
    if (m <= 0 || n <= 0) return;                                                       \
    if (k <= 0 || alpha == 0) {                                                         \
        for (int i = 0; i < m; i++)                                                     \
            for (int j = 0; j < n; j++) {                                               \
                T *c = C + (long)i * ldc + j;                                           \
                *c = beta == 0 ? 0 : beta * *c;                                         \
            }                                                                           \
        return;                                                                         \
    }

void slope_sgemm_isa(slope_isa isa, int transA, int transB, int m, int n, int k, float alpha,
                     const float *A, int lda, const float *B, int ldb, float beta, float *C,
                     int ldc) {
    SCALE_ONLY(float)
    if (!slope_isa_supported(isa)) isa = SLOPE_ISA_GENERIC;
    implementations[isa].sgemm(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

void slope_dgemm_isa(slope_isa isa, int transA, int transB, int m, int n, int k, double alpha,
                     const double *A, int lda, const double *B, int ldb, double beta, double *C,
                     int ldc) {
    SCALE_ONLY(double)
    if (!slope_isa_supported(isa)) isa = SLOPE_ISA_GENERIC;
    implementations[isa].dgemm(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

void slope_sgemm(int transA, int transB, int m, int n, int k, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc) {
    SCALE_ONLY(float)
    implementations[currentISA()].sgemm(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

void slope_dgemm(int transA, int transB, int m, int n, int k, double alpha, const double *A, int lda,
                 const double *B, int ldb, double beta, double *C, int ldc) {
    SCALE_ONLY(double)
    implementations[currentISA()].dgemm(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

// ---------------------------------------------------------------------------------------
// Element-wise passes of a dense layer (see CKernels.h).

const slope_elementwise_kernels *slope_elementwise_for_isa(slope_isa isa) {
    if (!slope_isa_supported(isa)) isa = SLOPE_ISA_GENERIC;
    return &implementations[isa].elementwise;
}

#define ELEMENTWISE_ENTRY(T, P)                                                                      \
    void slope_##P##bias_activate(int m, int n, T *C, int ldc, const T *bias, int relu) {            \
        if (m > 0 && n > 0) implementations[currentISA()].elementwise.P##bias_activate(m, n, C, ldc, bias, relu); \
    }                                                                                                \
    void slope_##P##relu_backward(long count, T *delta, const T *activation) {                       \
        if (count > 0) implementations[currentISA()].elementwise.P##relu_backward(count, delta, activation); \
    }                                                                                                \
    void slope_##P##column_sums(int m, int n, const T *X, int ldx, T *sums) {                        \
        if (n > 0) implementations[currentISA()].elementwise.P##column_sums(m < 0 ? 0 : m, n, X, ldx, sums); \
    }                                                                                                \
    void slope_##P##sgd_step(long count, T learningRate, T *weights, const T *gradients, T *gradientSums) { \
        if (count > 0)                                                                               \
            implementations[currentISA()].elementwise.P##sgd_step(count, learningRate, weights, gradients, gradientSums); \
    }

ELEMENTWISE_ENTRY(float, s)
ELEMENTWISE_ENTRY(double, d)
