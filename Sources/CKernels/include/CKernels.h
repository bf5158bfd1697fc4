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

#ifdef __cplusplus
}
#endif
#endif
