// CKernels: the matrix-product kernels behind NeuralNet's hot loops.
#include "CKernels.h"
