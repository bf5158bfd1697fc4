// CKernels: the element-wise passes of a dense layer around its gemm calls (bias, ReLU and
// its slope, bias gradient, SGD step), for one element type and instruction set. Included by
// kernels.c next to gemm_template.h (same macros: PREFIX, T). Plain loops that clang
// vectorizes for the target; each one computes exactly what the straightforward scalar
// loop computes (same operations, same order per element, no FMA contraction), so calling
// them instead of a loop changes no result bit.

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define NAME(x) CAT(PREFIX, x)

static void NAME(bias_activate)(int m, int n, T *C, int ldc, const T *bias, int relu) {
#pragma clang fp contract(off)
    for (int i = 0; i < m; i++) {
        T *restrict row = C + (long)i * ldc;
        if (bias && relu) {
            for (int j = 0; j < n; j++) {
                const T value = row[j] + bias[j];
                row[j] = 0 >= value ? 0 : value;
            }
        } else if (bias) {
            for (int j = 0; j < n; j++) row[j] += bias[j];
        } else if (relu) {
            for (int j = 0; j < n; j++) row[j] = 0 >= row[j] ? 0 : row[j];
        }
    }
}

static void NAME(relu_backward)(long count, T *restrict delta, const T *restrict activation) {
    for (long i = 0; i < count; i++) delta[i] *= activation[i] > 0 ? 1 : 0;
}

static void NAME(column_sums)(int m, int n, const T *X, int ldx, T *restrict sums) {
#pragma clang fp contract(off)
    for (int j = 0; j < n; j++) sums[j] = 0;
    for (int i = 0; i < m; i++) {
        const T *restrict row = X + (long)i * ldx;
        for (int j = 0; j < n; j++) sums[j] += row[j];
    }
}

static void NAME(sgd_step)(long count, T learningRate, T *restrict weights, const T *restrict gradients,
                           T *restrict gradientSums) {
#pragma clang fp contract(off)
    if (gradientSums) {
        for (long i = 0; i < count; i++) {
            const T gradient = gradients[i];
            weights[i] -= learningRate * gradient;
            gradientSums[i] += gradient;
        }
    } else {
        for (long i = 0; i < count; i++) weights[i] -= learningRate * gradients[i];
    }
}

#undef NAME
