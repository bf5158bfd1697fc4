// CKernels: the matrix-product kernels behind NeuralNet's hot loops.
#ifndef SLOPE_CKERNELS_H
#define SLOPE_CKERNELS_H
#endif
