// CKernels: the matrix-product kernels behind NeuralNet's hot loops.
// All matrices are row-major. op(X) is X or its transpose (trans != 0).
#ifndef SLOPE_CKERNELS_H
#define SLOPE_CKERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// C[m x n] = alpha * op(A)[m x k] * op(B)[k x n] + beta * C.
/// lda, ldb, ldc: row strides (elements) of A, B, C as stored.
/// beta == 0 overwrites C without reading it (NaN in C does not leak through).
/// alpha == 0 or k == 0 only scales C by beta (A and B are not read, as in BLAS).
/// Thread-safe; each thread keeps its own packing buffer (grown on demand, never freed).
/// Deterministic: on one code path the same inputs give the same bits, whatever the
/// alignment or thread (each entry sums over k in order, in blocks of 256 or 1024, with FMA
/// where the path has it). Different paths (see slope_kernel_isa) may differ in the last bits.
/// Cost: near the CPU's peak (about 107 GFLOP/s float, 51 double, on the AVX-512 EPYC we
/// develop on) from about 32x64x64 up; products of at most 512 multiply-adds take direct loops.
void slope_sgemm(int transA, int transB, int m, int n, int k,
                 float alpha, const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc);
void slope_dgemm(int transA, int transB, int m, int n, int k,
                 double alpha, const double *A, int lda, const double *B, int ldb,
                 double beta, double *C, int ldc);

/// The straightforward triple loop, kept as the reference the fast kernels are tested against.
void slope_sgemm_reference(int transA, int transB, int m, int n, int k,
                           float alpha, const float *A, int lda, const float *B, int ldb,
                           float beta, float *C, int ldc);
void slope_dgemm_reference(int transA, int transB, int m, int n, int k,
                           double alpha, const double *A, int lda, const double *B, int ldb,
                           double beta, double *C, int ldc);

/// Name of the code path chosen at run time ("avx512", "avx2-fma" or "generic").
/// The environment variable SLOPE_KERNEL_ISA (one of those names) forces a supported path,
/// for benchmarking the fallbacks; it is read once, at the first gemm call.
const char *slope_kernel_isa(void);

/// The code paths, for tests that check every path this CPU can run against the reference.
typedef enum { SLOPE_ISA_GENERIC = 0, SLOPE_ISA_AVX2_FMA = 1, SLOPE_ISA_AVX512 = 2 } slope_isa;
/// 1 if this CPU (and build: x86-64 only for the AVX paths) can run `isa`, else 0.
int slope_isa_supported(slope_isa isa);
/// slope_sgemm / slope_dgemm on a given code path (the generic one if `isa` is unsupported).
void slope_sgemm_isa(slope_isa isa, int transA, int transB, int m, int n, int k,
                     float alpha, const float *A, int lda, const float *B, int ldb,
                     float beta, float *C, int ldc);
void slope_dgemm_isa(slope_isa isa, int transA, int transB, int m, int n, int k,
                     double alpha, const double *A, int lda, const double *B, int ldb,
                     double beta, double *C, int ldc);

// ---------------------------------------------------------------------------------------
// Element-wise passes of a dense layer, to call around the gemms (vectorized for the chosen
// code path). Each computes exactly what the obvious scalar loop written next to it computes
// (same operations in the same order per element, no FMA contraction), so replacing such a
// loop by the call changes no bit of a training run.

/// Forward epilogue of a dense layer, in place on C [m x n] (row stride ldc):
/// C[i][j] += bias[j] (skipped when bias is NULL); then, if relu != 0,
/// C[i][j] = 0 >= C[i][j] ? 0 : C[i][j] (Swift's max(x, 0): NaN stays NaN, -0 becomes 0).
void slope_sbias_activate(int m, int n, float *C, int ldc, const float *bias, int relu);
void slope_dbias_activate(int m, int n, double *C, int ldc, const double *bias, int relu);

/// ReLU's slope from the layer's post-ReLU output, in place, for i < count:
/// delta[i] *= activation[i] > 0 ? 1 : 0 (a NaN or infinite delta stays NaN).
void slope_srelu_backward(long count, float *delta, const float *activation);
void slope_drelu_backward(long count, double *delta, const double *activation);

/// Bias gradient: sums[j] = X[0][j] + X[1][j] + ... + X[m-1][j] (added in row order), X [m x n].
void slope_scolumn_sums(int m, int n, const float *X, int ldx, float *sums);
void slope_dcolumn_sums(int m, int n, const double *X, int ldx, double *sums);

/// Plain SGD step over a flat parameter buffer: weights[i] -= learningRate * gradients[i];
/// and, when gradientSums is not NULL, gradientSums[i] += gradients[i] (the epoch's sum).
void slope_ssgd_step(long count, float learningRate, float *weights, const float *gradients,
                     float *gradientSums);
void slope_dsgd_step(long count, double learningRate, double *weights, const double *gradients,
                     double *gradientSums);

/// The element-wise kernels of one code path (the generic one if `isa` is unsupported), for
/// tests that compare every path this CPU can run. Arguments must be valid (no size checks).
typedef struct {
    void (*sbias_activate)(int m, int n, float *C, int ldc, const float *bias, int relu);
    void (*dbias_activate)(int m, int n, double *C, int ldc, const double *bias, int relu);
    void (*srelu_backward)(long count, float *delta, const float *activation);
    void (*drelu_backward)(long count, double *delta, const double *activation);
    void (*scolumn_sums)(int m, int n, const float *X, int ldx, float *sums);
    void (*dcolumn_sums)(int m, int n, const double *X, int ldx, double *sums);
    void (*ssgd_step)(long count, float learningRate, float *weights, const float *gradients,
                      float *gradientSums);
    void (*dsgd_step)(long count, double learningRate, double *weights, const double *gradients,
                      double *gradientSums);
} slope_elementwise_kernels;
const slope_elementwise_kernels *slope_elementwise_for_isa(slope_isa isa);

// ---------------------------------------------------------------------------------------
// Batch-1 training of small networks (small_network.c): a whole epoch in one call, for
// networks whose every product is small enough for NeuralNet's direct loops. Computes exactly
// what NeuralNet's reference path computes for batches of one row (see the template).

#define SLOPE_SMALL_MAX_LAYERS 8
enum { SLOPE_ACTIVATION_RELU = 0, SLOPE_ACTIVATION_TANH = 1, SLOPE_ACTIVATION_SIGMOID = 2,
       SLOPE_ACTIVATION_IDENTITY = 3, SLOPE_ACTIVATION_SOFTMAX = 4 };
enum { SLOPE_LOSS_MSE = 0, SLOPE_LOSS_BINARY_CROSS_ENTROPY = 1, SLOPE_LOSS_CROSS_ENTROPY = 2 };
enum { SLOPE_ACCURACY_NONE = 0, SLOPE_ACCURACY_ARGMAX = 1, SLOPE_ACCURACY_THRESHOLD = 2 };

/// The network: layerCount <= SLOPE_SMALL_MAX_LAYERS dense layers; sizes[0...layerCount];
/// layer l (1-based) has its [sizes[l-1] x sizes[l]] weight at parameters + weightOffsets[l-1]
/// and its bias at biasOffsets[l-1] (-1: none); parameterCount values in all.
typedef struct {
    int layerCount;
    const int *sizes;
    const long *weightOffsets;
    const long *biasOffsets;
    long parameterCount;
    int hiddenActivation, outputActivation, loss, accuracy;
} slope_small_network;

/// Trains rows order[0..<count] one at a time with plain SGD (L2 weightDecay on weights):
/// per row forward, loss, backward into `gradients`, step; gradientSums += each row's gradient.
/// features [rows x sizes[0]], targets [rows x outputs], labels [rows]; scratch holds
/// 2 * (sizes[1] + ... + sizes[L]) + outputs values. Adds each row's loss to *weightedLoss and
/// its hits to *correct. Returns 0, or 1 at the first row whose loss is not finite (that row's
/// step is not taken; *weightedLoss and *correct stop there).
int slope_ssmall_sgd_epoch(const slope_small_network *network, long count, const long *order,
                           const float *features, const float *targets, const long *labels,
                           float learningRate, float weightDecay, float *parameters, float *gradients,
                           float *gradientSums, float *scratch, double *weightedLoss, long *correct);
int slope_dsmall_sgd_epoch(const slope_small_network *network, long count, const long *order,
                           const double *features, const double *targets, const long *labels,
                           double learningRate, double weightDecay, double *parameters, double *gradients,
                           double *gradientSums, double *scratch, double *weightedLoss, long *correct);

#ifdef __cplusplus
}
#endif
#endif
