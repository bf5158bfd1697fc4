// CKernels: one instantiation of the blocked, packed gemm for one element type and one
// instruction set. kernels.c includes this file several times (float/double x avx512 /
// avx2-fma / generic); every function here is `static`, so the copies never collide.
//
// Required macros:
//   PREFIX     name prefix of this instantiation (e.g. s_avx512_)
//   T          element type (float or double)
//   VEC_BYTES  SIMD register width in bytes (64, 32 or 16)
//   MR         rows of C computed by one microkernel call
//   KC, NC     cache blocking: a packed block of op(B) is KC x NC (kept in L2)
// The caller wraps the include in `#pragma clang attribute push(target(...))` to compile
// it for an instruction set; the code itself is plain C with vector extensions, so the
// same source serves every ISA and the compiler emits FMA where the target has it.
//
// Algorithm (Goto/BLIS, single thread), for C[m x n] = alpha op(A)[m x k] op(B)[k x n] + beta C:
//   for each NC-wide column block of C and each KC-deep slice of k:
//     pack op(B)[KC x NC] into NR-wide panels (kc x NR each, row-major, zero padded);
//     for each MR-row strip of C:
//       pack op(A)[MR x KC] into one k-major micro-panel (kc x MR, zero padded) (stays in L1);
//       for each NR-wide panel: microkernel: MR x NR accumulators in registers, one
//       vector FMA per (row, vector) per k step; then C = alpha*acc + beta*C.
// Packing makes all four transpose combinations look the same to the microkernel.
// Two shortcuts skip packing op(A) where it would not pay: a row-major A feeding at most two
// panels is read in place, and the narrow path (n <= one vector, e.g. a 10-class output
// layer) reads full strips of 2*MR rows in place with one vector per row.
// Products of at most SMALL_WORK multiply-adds take the direct loops of `small`.

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define NAME(x) CAT(PREFIX, x)
#define VL ((int)(VEC_BYTES / sizeof(T)))

typedef T NAME(vec) __attribute__((vector_size(VEC_BYTES)));
typedef T NAME(uvec) __attribute__((vector_size(VEC_BYTES), aligned(sizeof(T))));
typedef T NAME(v4) __attribute__((vector_size(4 * sizeof(T)), aligned(sizeof(T))));
#define VEC NAME(vec)
#define UVEC NAME(uvec)
#define V4 NAME(v4)

static inline __attribute__((always_inline)) VEC NAME(splat)(T s) {
    VEC v;
    for (int i = 0; i < VL; i++) v[i] = s;
    return v;
}

/// Packs op(A)[mr x kc] (element (i, p) at a[i*rsa + p*csa]) into out[kc x mrx], k-major,
/// rows mr..mrx-1 zero.
static inline __attribute__((always_inline)) void NAME(pack_a)(int kc, int mr, const T *restrict a, long rsa,
                                                               long csa, T *restrict out, const int mrx) {
    if (mr == mrx && csa == 1) {
        // A row-major: mrx rows read in step (each a sequential stream), one mrx-vector written per k.
        for (int p = 0; p < kc; p++) {
            for (int r = 0; r < mrx; r++) out[p * mrx + r] = a[r * rsa + p];
        }
    } else if (mr == mrx && rsa == 1) {
        // op(A) = A^T: the mrx values of one k are contiguous.
        for (int p = 0; p < kc; p++) {
            const T *src = a + p * csa;
            for (int r = 0; r < mrx; r++) out[p * mrx + r] = src[r];
        }
    } else {
        for (int p = 0; p < kc; p++) {
            for (int r = 0; r < mr; r++) out[p * mrx + r] = a[r * rsa + p * csa];
            for (int r = mr; r < mrx; r++) out[p * mrx + r] = 0;
        }
    }
}

/// Packs op(B)[kc x nc] (element (p, j) at b[p*rsb + j*csb]) into ceil(nc/nr) panels of
/// kc x nr, row-major, each starting at out + j0*kc; columns past nc zero.
static inline __attribute__((always_inline)) void NAME(pack_b)(int kc, int nc, const T *restrict b,
                                                               long rsb, long csb, T *restrict out,
                                                               const int nr) {
    for (int j0 = 0; j0 < nc; j0 += nr) {
        const int w = nc - j0 < nr ? nc - j0 : nr;
        T *restrict o = out + (long)j0 * kc;
        if (csb == 1) {
            // B row-major: each k contributes nr contiguous values.
            if (w == nr) {
                for (int p = 0; p < kc; p++) {
                    const T *src = b + p * rsb + j0;
                    for (int j = 0; j < nr; j++) o[p * nr + j] = src[j];
                }
            } else {
                for (int p = 0; p < kc; p++) {
                    const T *src = b + p * rsb + j0;
                    for (int j = 0; j < w; j++) o[p * nr + j] = src[j];
                    for (int j = w; j < nr; j++) o[p * nr + j] = 0;
                }
            }
        } else {
            // op(B) = B^T (so rsb == 1): column j of op(B) is contiguous in memory. Transpose
            // 4 x 4 blocks in registers so that reads and writes both move whole vectors.
            int j = 0;
            for (; j + 4 <= w; j += 4) {
                const T *s0 = b + (long)(j0 + j) * csb, *s1 = s0 + csb, *s2 = s1 + csb, *s3 = s2 + csb;
                int p = 0;
                for (; p + 4 <= kc; p += 4) {
                    const V4 r0 = *(const V4 *)(s0 + p), r1 = *(const V4 *)(s1 + p);
                    const V4 r2 = *(const V4 *)(s2 + p), r3 = *(const V4 *)(s3 + p);
                    const V4 t0 = __builtin_shufflevector(r0, r1, 0, 4, 1, 5);
                    const V4 t1 = __builtin_shufflevector(r0, r1, 2, 6, 3, 7);
                    const V4 t2 = __builtin_shufflevector(r2, r3, 0, 4, 1, 5);
                    const V4 t3 = __builtin_shufflevector(r2, r3, 2, 6, 3, 7);
                    *(V4 *)(o + (p + 0) * nr + j) = __builtin_shufflevector(t0, t2, 0, 1, 4, 5);
                    *(V4 *)(o + (p + 1) * nr + j) = __builtin_shufflevector(t0, t2, 2, 3, 6, 7);
                    *(V4 *)(o + (p + 2) * nr + j) = __builtin_shufflevector(t1, t3, 0, 1, 4, 5);
                    *(V4 *)(o + (p + 3) * nr + j) = __builtin_shufflevector(t1, t3, 2, 3, 6, 7);
                }
                for (; p < kc; p++) {
                    T *d = o + p * nr + j;
                    d[0] = s0[p];
                    d[1] = s1[p];
                    d[2] = s2[p];
                    d[3] = s3[p];
                }
            }
            for (; j < w; j++) {
                const T *s = b + (long)(j0 + j) * csb;
                for (int p = 0; p < kc; p++) o[p * nr + j] = s[p * rsb];
            }
            if (w < nr) {
                for (int p = 0; p < kc; p++)
                    for (int jj = w; jj < nr; jj++) o[p * nr + jj] = 0;
            }
        }
    }
}

/// Microkernel: c[mr x ncols] = alpha * (op(A)[mrx x kc] * b_panel[kc x nv*VL]) + beta * c, where
/// element (r, p) of the A strip is a[r*ars + p*aks] (packed: ars = 1, aks = mrx; or A read in
/// place) and the B panel is packed row-major, nv*VL wide. beta == 0 never reads c. Full tiles
/// store straight from registers; edge tiles go through a small buffer.
static inline __attribute__((always_inline)) void NAME(micro)(int kc, const T *restrict a, long ars, long aks,
                                                              const T *restrict b, T *restrict c,
                                                              long ldc, T alpha, T beta, int mr,
                                                              int ncols, const int nv, const int mrx,
                                                              const int transC) {
    VEC acc[2 * MR][2];
#pragma clang loop unroll(full)
    for (int r = 0; r < mrx; r++) {
        acc[r][0] = NAME(splat)(0);
        acc[r][1] = NAME(splat)(0);
    }
    for (int p = 0; p < kc; p++) {
        const VEC b0 = *(const VEC *)b;
        const VEC b1 = nv == 2 ? *(const VEC *)(b + VL) : b0;
#pragma clang loop unroll(full)
        for (int r = 0; r < mrx; r++) {
            const VEC av = NAME(splat)(a[r * ars]);
            acc[r][0] += av * b0;
            if (nv == 2) acc[r][1] += av * b1;
        }
        a += aks;
        b += nv * VL;
    }
    const VEC va = NAME(splat)(alpha);
    if (!transC && mr == mrx && ncols == nv * VL) {
        const VEC vb = NAME(splat)(beta);
#pragma clang loop unroll(full)
        for (int r = 0; r < mrx; r++) {
            for (int v = 0; v < nv; v++) {
                UVEC *cp = (UVEC *)(c + r * ldc + v * VL);
                if (beta == 0)
                    *cp = va * acc[r][v];
                else if (beta == 1)
                    *cp = va * acc[r][v] + *cp;
                else
                    *cp = va * acc[r][v] + vb * *cp;
            }
        }
    } else {
        T tile[2 * MR * 2 * VL] __attribute__((aligned(64)));
#pragma clang loop unroll(full)
        for (int r = 0; r < mrx; r++)
            for (int v = 0; v < nv; v++) *(VEC *)(tile + r * 2 * VL + v * VL) = va * acc[r][v];
        // transC: the tile is a block of C^T, so tile row r is column r of C.
        const long rowStride = transC ? 1 : ldc, columnStride = transC ? ldc : 1;
        for (int r = 0; r < mr; r++) {
            T *cr = c + r * rowStride;
            const T *tr = tile + r * 2 * VL;
            if (beta == 0)
                for (int j = 0; j < ncols; j++) cr[j * columnStride] = tr[j];
            else
                for (int j = 0; j < ncols; j++) cr[j * columnStride] = tr[j] + beta * cr[j * columnStride];
        }
    }
}

/// Direct loops for tiny products (e.g. 1x2 times 2x2 at batch size 1): no packing, no
/// buffers, the call costs a few nanoseconds. Same summation order as the reference.
static void NAME(small)(int transA, int transB, int m, int n, int k, T alpha, const T *A, int lda,
                        const T *B, int ldb, T beta, T *C, int ldc) {
    const long rsa = transA ? 1 : lda, csa = transA ? lda : 1;
    const long rsb = transB ? 1 : ldb, csb = transB ? ldb : 1;
    for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
            T sum = 0;
            for (int p = 0; p < k; p++) sum += A[i * rsa + p * csa] * B[p * rsb + j * csb];
            T *c = C + (long)i * ldc + j;
            *c = beta == 0 ? alpha * sum : alpha * sum + beta * *c;
        }
    }
}

/// Thread-local packing buffer, grown on demand and kept for the thread's life (no malloc per call).
static T *NAME(buffer)(size_t count) {
    static _Thread_local T *buffer = 0;
    static _Thread_local size_t capacity = 0;
    if (count > capacity) {
        free(buffer);
        size_t bytes = (count * sizeof(T) + 63) & ~(size_t)63;
        buffer = aligned_alloc(64, bytes);
        capacity = buffer ? count : 0;
    }
    return buffer;
}

static inline __attribute__((always_inline)) void NAME(blocked)(int transA, int transB, int m, int n, int k,
                                                                T alpha, const T *A, int lda,
                                                                const T *B, int ldb, T beta, T *C,
                                                                int ldc, const int nv) {
    const int nr = nv * VL;
    const long rsa = transA ? 1 : lda, csa = transA ? lda : 1;
    const long rsb = transB ? 1 : ldb, csb = transB ? ldb : 1;
    const int kcMax = k < KC ? k : KC;
    const int ncRounded = (n + nr - 1) / nr * nr;
    const int ncMax = ncRounded < NC ? ncRounded : NC;
    T *packedB = NAME(buffer)((size_t)kcMax * ncMax + (size_t)kcMax * MR);
    if (!packedB) {  // out of memory: still give the right answer
        NAME(small)(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    T *packedA = packedB + (size_t)kcMax * ncMax;
    // A row-major strip used by at most two panels (mid sizes, e.g. 32x64 * 64x64): reading it
    // in place beats packing it. Wider products reuse each strip many times and pack it.
    const int readAInPlace = !transA && n <= 2 * nr;
    for (int jc = 0; jc < n; jc += NC) {
        const int nc = n - jc < NC ? n - jc : NC;
        for (int pc = 0; pc < k; pc += KC) {
            const int kc = k - pc < KC ? k - pc : KC;
            const T betaHere = pc == 0 ? beta : 1;
            NAME(pack_b)(kc, nc, B + pc * rsb + jc * csb, rsb, csb, packedB, nr);
            for (int ir = 0; ir < m; ir += MR) {
                const int mr = m - ir < MR ? m - ir : MR;
                const T *a = A + ir * rsa + pc * csa;
                T *cRow = C + (long)ir * ldc + jc;
                if (readAInPlace && mr == MR) {
                    for (int jr = 0; jr < nc; jr += nr) {
                        const int ncols = nc - jr < nr ? nc - jr : nr;
                        NAME(micro)(kc, a, lda, 1, packedB + (long)jr * kc, cRow + jr, ldc, alpha,
                                    betaHere, mr, ncols, nv, MR, 0);
                    }
                } else {
                    NAME(pack_a)(kc, mr, a, rsa, csa, packedA, MR);
                    for (int jr = 0; jr < nc; jr += nr) {
                        const int ncols = nc - jr < nr ? nc - jr : nr;
                        NAME(micro)(kc, packedA, 1, MR, packedB + (long)jr * kc, cRow + jr, ldc, alpha,
                                    betaHere, mr, ncols, nv, MR, 0);
                    }
                }
            }
        }
    }
}

/// n <= VL: one vector per row of C and twice the rows per microkernel call. Every element
/// of op(A) is used exactly once, so full strips read A in place instead of packing it; only
/// the last partial strip is packed (zero padded, so no row past m is read).
static void NAME(narrow)(int transA, int transB, int m, int n, int k, T alpha, const T *A, int lda,
                         const T *B, int ldb, T beta, T *C, int ldc) {
    const int mrx = 2 * MR;
    const long rsa = transA ? 1 : lda, csa = transA ? lda : 1;
    const long rsb = transB ? 1 : ldb, csb = transB ? ldb : 1;
    const int kcMax = k < 4 * KC ? k : 4 * KC;
    T *packedB = NAME(buffer)((size_t)kcMax * VL + (size_t)kcMax * mrx);
    if (!packedB) {
        NAME(small)(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    T *packedA = packedB + (size_t)kcMax * VL;
    for (int pc = 0; pc < k; pc += kcMax) {
        const int kc = k - pc < kcMax ? k - pc : kcMax;
        const T betaHere = pc == 0 ? beta : 1;
        NAME(pack_b)(kc, n, B + pc * rsb, rsb, csb, packedB, VL);
        for (int ir = 0; ir < m; ir += mrx) {
            const int mr = m - ir < mrx ? m - ir : mrx;
            const T *a = A + ir * rsa + pc * csa;
            T *c = C + (long)ir * ldc;
            if (mr < mrx) {
                NAME(pack_a)(kc, mr, a, rsa, csa, packedA, mrx);
                NAME(micro)(kc, packedA, 1, mrx, packedB, c, ldc, alpha, betaHere, mr, n, 1, mrx, 0);
            } else if (transA) {
                NAME(micro)(kc, a, 1, lda, packedB, c, ldc, alpha, betaHere, mr, n, 1, mrx, 0);
            } else {
                NAME(micro)(kc, a, lda, 1, packedB, c, ldc, alpha, betaHere, mr, n, 1, mrx, 0);
            }
        }
    }
}

/// Few columns (n <= TMR, e.g. a 10-class output layer) and many rows: compute C^T =
/// op(B)^T op(A)^T instead, so the vectors run along m with every lane used and the n
/// columns of C become `mrx` (n rounded up to even) register rows. op(B)^T is packed as the
/// k-major strip and op(A)^T as the NR-wide panels (a plain copy when A is transposed, as in
/// a weight gradient X^T * delta); tiles are stored transposed into C.
static inline __attribute__((always_inline)) void NAME(few_columns)(int transA, int transB, int m, int n, int k,
                                                                    T alpha, const T *A, int lda,
                                                                    const T *B, int ldb, T beta, T *C,
                                                                    int ldc, const int mrx) {
    const int nr = 2 * VL;
    const long rsa = transA ? 1 : lda, csa = transA ? lda : 1;
    const long rsb = transB ? 1 : ldb, csb = transB ? ldb : 1;
    const int kcMax = k < KC ? k : KC;
    const int mcRounded = (m + nr - 1) / nr * nr;
    const int mcMax = mcRounded < NC ? mcRounded : NC;
    T *packedA = NAME(buffer)((size_t)kcMax * mcMax + (size_t)kcMax * mrx);
    if (!packedA) {
        NAME(small)(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    T *packedB = packedA + (size_t)kcMax * mcMax;
    for (int ic = 0; ic < m; ic += NC) {
        const int mc = m - ic < NC ? m - ic : NC;
        for (int pc = 0; pc < k; pc += KC) {
            const int kc = k - pc < KC ? k - pc : KC;
            const T betaHere = pc == 0 ? beta : 1;
            // op(A)^T[kc x mc]: element (p, i) is A[i*rsa + p*csa].
            NAME(pack_b)(kc, mc, A + (long)ic * rsa + pc * csa, csa, rsa, packedA, nr);
            // op(B)^T[n x kc]: element (j, p) is B[j*csb + p*rsb].
            NAME(pack_a)(kc, n, B + pc * rsb, csb, rsb, packedB, mrx);
            for (int ir = 0; ir < mc; ir += nr) {
                const int ncols = mc - ir < nr ? mc - ir : nr;
                NAME(micro)(kc, packedB, 1, mrx, packedA + (long)ir * kc, C + (long)(ic + ir) * ldc, ldc, alpha,
                            betaHere, n, ncols, 2, mrx, 1);
            }
        }
    }
}

/// Entry point of this instantiation (m, n, k > 0 and alpha != 0; see kernels.c).
static void NAME(gemm)(int transA, int transB, int m, int n, int k, T alpha, const T *A, int lda,
                       const T *B, int ldb, T beta, T *C, int ldc) {
    if ((long)m * n * k <= SMALL_WORK) {
        NAME(small)(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    } else if (n <= TMR && m >= 2 * VL && (transA || k <= KC)) {
        // (A row-major must be transposed while packed; measured, that only pays for short k.)
        switch ((n + 1) / 2 * 2) {  // rows of C^T in registers: n rounded up to even
#define FEW(R) case R: NAME(few_columns)(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, R); break;
            FEW(2) FEW(4)
#if TMR >= 6
            FEW(6)
#endif
#if TMR >= 8
            FEW(8)
#endif
#if TMR >= 10
            FEW(10)
#endif
#if TMR >= 12
            FEW(12)
#endif
#undef FEW
        }
    } else if (n <= VL) {
        NAME(narrow)(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
    } else {
        NAME(blocked)(transA, transB, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc, 2);
    }
}

#undef VEC
#undef UVEC
#undef V4
#undef VL
#undef NAME
