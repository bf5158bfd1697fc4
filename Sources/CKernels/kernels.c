// CKernels: the matrix-product kernels behind NeuralNet's hot loops.
// Placeholder: the fast kernels are not written yet, so the public entry points
// call the reference loops.
#include "CKernels.h"

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

void slope_sgemm(int transA, int transB, int m, int n, int k, float alpha, const float *A, int lda,
                 const float *B, int ldb, float beta, float *C, int ldc) {
    slope_sgemm_reference(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

void slope_dgemm(int transA, int transB, int m, int n, int k, double alpha, const double *A, int lda,
                 const double *B, int ldb, double beta, double *C, int ldc) {
    slope_dgemm_reference(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

const char *slope_kernel_isa(void) { return "generic"; }
