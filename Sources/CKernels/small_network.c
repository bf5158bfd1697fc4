// CKernels: batch-1 training epochs of small dense networks (small_network_template.h), for
// float and double. Plain C (no target attributes): at these sizes the time goes to the
// dependencies between scalar operations, not to vector width.
#include "CKernels.h"

#include <math.h>

#define T float
#define PREFIX slope_s
#define EXP expf
#define LOG logf
#define LOG1P log1pf
#define TANH tanhf
#define FABS fabsf
#include "small_network_template.h"
#undef T
#undef PREFIX
#undef EXP
#undef LOG
#undef LOG1P
#undef TANH
#undef FABS

#define T double
#define PREFIX slope_d
#define EXP exp
#define LOG log
#define LOG1P log1p
#define TANH tanh
#define FABS fabs
#include "small_network_template.h"
