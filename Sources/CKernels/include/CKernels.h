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
const char *slope_kernel_isa(void);

#ifdef __cplusplus
}
#endif
#endif
