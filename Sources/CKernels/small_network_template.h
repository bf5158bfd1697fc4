// CKernels: one epoch of batch-1 training of a small dense network, row after row, for one
// element type (T, PREFIX; included by small_network.c). It computes exactly what NeuralNet's
// reference path (Network.forward / lossAndOutputDelta / backward and the plain SGD step of
// TrainingEngine) computes for a batch of one row, operation for operation and in the same
// order (direct products summed from 0 in index order, no FMA contraction, the same libm
// calls), so the stored bits do not depend on which path trained: the tests compare the two.
// What it saves is the per-batch overhead of the reference path: gathering the row, a dozen
// calls into kernels sized at run time, and the optimizer's separate passes.

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define NAME(x) CAT(PREFIX, x)

// The slope of an activation at a node, from the node's output a (activationSlope in Network.swift).
static inline T NAME(slope)(int activation, T a) {
    switch (activation) {
    case SLOPE_ACTIVATION_RELU: return a > 0 ? 1 : 0;
    case SLOPE_ACTIVATION_TANH: return 1 - a * a;
    case SLOPE_ACTIVATION_SIGMOID: return a * (1 - a);
    default: return 1;
    }
}

// In place on count values (activate in Network.swift; relu keeps NaN).
static inline void NAME(activate)(int activation, T *values, int count) {
    switch (activation) {
    case SLOPE_ACTIVATION_RELU:
        for (int i = 0; i < count; i++) values[i] = 0 >= values[i] ? 0 : values[i];
        break;
    case SLOPE_ACTIVATION_TANH:
        for (int i = 0; i < count; i++) values[i] = TANH(values[i]);
        break;
    case SLOPE_ACTIVATION_SIGMOID:
        for (int i = 0; i < count; i++) values[i] = 1 / (1 + EXP(-values[i]));
        break;
    default:
        break;
    }
}

int NAME(small_sgd_epoch)(const slope_small_network *network, long count, const long *order,
                          const T *features, const T *targets, const long *labels,
                          T learningRate, T weightDecay, T *restrict parameters, T *restrict gradients,
                          T *restrict gradientSums, T *restrict scratch, double *weightedLoss, long *correct) {
#pragma clang fp contract(off)
    const int layers = network->layerCount;
    const int *sizes = network->sizes;
    const int inputs = sizes[0], outputs = sizes[layers];
    // scratch: activations of layers 1...L, logits, deltas of layers 1...L (offsets as in Workspace).
    T *activation[SLOPE_SMALL_MAX_LAYERS + 1];
    T *delta[SLOPE_SMALL_MAX_LAYERS + 1];
    T *cursor = scratch;
    for (int l = 1; l <= layers; l++) { activation[l] = cursor; cursor += sizes[l]; }
    T *logits = cursor;
    cursor += outputs;
    for (int l = 1; l <= layers; l++) { delta[l] = cursor; cursor += sizes[l]; }
    const int outputActivation = network->outputActivation, hiddenActivation = network->hiddenActivation;
    double lossTotal = *weightedLoss;
    long hits = *correct;

    for (long position = 0; position < count; position++) {
        const long row = order[position];
        const T *input = features + row * inputs;
        const T *target = targets + row * outputs;
        activation[0] = (T *)input;

        // Forward: z = a_below W (+ b), hidden activations in place; the output's into logits.
        for (int l = 1; l <= layers; l++) {
            const int in = sizes[l - 1], out = sizes[l];
            const T *below = activation[l - 1];
            const T *weight = parameters + network->weightOffsets[l - 1];
            T *z = l == layers ? logits : activation[l];
            for (int j = 0; j < out; j++) {
                T sum = 0;
                for (int p = 0; p < in; p++) sum += below[p] * weight[p * out + j];
                z[j] = sum;
            }
            const long biasOffset = network->biasOffsets[l - 1];
            if (biasOffset >= 0) {
                const T *bias = parameters + biasOffset;
                for (int j = 0; j < out; j++) z[j] += bias[j];
            }
            if (l < layers) NAME(activate)(hiddenActivation, z, out);
        }
        T *prediction = activation[layers];
        T logSumExp = 0;
        if (outputActivation == SLOPE_ACTIVATION_SOFTMAX) {
            T largest = logits[0];
            for (int c = 1; c < outputs; c++) if (logits[c] > largest) largest = logits[c];
            T sum = 0;
            for (int c = 0; c < outputs; c++) {
                const T value = EXP(logits[c] - largest);
                prediction[c] = value;
                sum += value;
            }
            const T scale = 1 / sum;
            for (int c = 0; c < outputs; c++) prediction[c] *= scale;
            logSumExp = largest + LOG(sum);
        } else {
            for (int c = 0; c < outputs; c++) prediction[c] = logits[c];
            NAME(activate)(outputActivation, prediction, outputs);
        }

        // Loss of the row and dL/dz of the output layer (lossAndOutputDelta with rows = 1).
        T lossSum = 0;
        T *outputDelta = delta[layers];
        switch (network->loss) {
        case SLOPE_LOSS_MSE: {
            const T scale = 2 / (T)outputs;
            for (int c = 0; c < outputs; c++) {
                const T difference = prediction[c] - target[c];
                lossSum += difference * difference;
                outputDelta[c] = scale * difference * NAME(slope)(outputActivation, prediction[c]);
            }
            lossSum /= (T)outputs;
            break;
        }
        case SLOPE_LOSS_BINARY_CROSS_ENTROPY: {
            const T scale = 1 / (T)outputs;
            for (int c = 0; c < outputs; c++) {
                const T z = logits[c], y = target[c];
                lossSum += (0 >= z ? 0 : z) - z * y + LOG1P(EXP(-FABS(z)));
                outputDelta[c] = scale * (prediction[c] - y);
            }
            lossSum /= (T)outputs;
            break;
        }
        default: {  // cross-entropy on a softmax output
            const long label = labels[row];
            const T scale = 1 / (T)1;
            lossSum += logSumExp - logits[label];
            for (int c = 0; c < outputs; c++) outputDelta[c] = scale * prediction[c];
            outputDelta[label] -= scale;
            lossSum /= (T)1;
            break;
        }
        }
        if (network->accuracy == SLOPE_ACCURACY_ARGMAX) {
            int best = 0;
            for (int c = 1; c < outputs; c++) if (prediction[c] > prediction[best]) best = c;
            if (best == labels[row]) hits++;
        } else if (network->accuracy == SLOPE_ACCURACY_THRESHOLD) {
            for (int c = 0; c < outputs; c++) if ((prediction[c] > 0.5) == (target[c] > 0.5)) hits++;
        }
        const double loss = (double)lossSum;
        if (!isfinite(loss)) {
            *weightedLoss = lossTotal;
            *correct = hits;
            return 1;
        }
        lossTotal += loss * 1.0;

        // Backward: dW = a_below^T delta, db = delta, delta_below = (delta W^T) (.) slope.
        for (int l = layers; l >= 1; l--) {
            const int in = sizes[l - 1], out = sizes[l];
            const T *below = activation[l - 1];
            const T *d = delta[l];
            const T *weight = parameters + network->weightOffsets[l - 1];
            T *weightGradient = gradients + network->weightOffsets[l - 1];
            for (int p = 0; p < in; p++) {
                for (int j = 0; j < out; j++) {
                    T sum = 0;
                    sum += below[p] * d[j];
                    weightGradient[p * out + j] = sum;
                }
            }
            const long biasOffset = network->biasOffsets[l - 1];
            if (biasOffset >= 0) {
                T *biasGradient = gradients + biasOffset;
                for (int j = 0; j < out; j++) {
                    T sum = 0;
                    sum += d[j];
                    biasGradient[j] = sum;
                }
            }
            if (l > 1) {
                T *deltaBelow = delta[l - 1];
                for (int p = 0; p < in; p++) {
                    T sum = 0;
                    for (int j = 0; j < out; j++) sum += d[j] * weight[p * out + j];
                    deltaBelow[p] = sum;
                }
                const T *values = activation[l - 1];
                switch (hiddenActivation) {
                case SLOPE_ACTIVATION_RELU:
                    for (int p = 0; p < in; p++) deltaBelow[p] *= values[p] > 0 ? 1 : 0;
                    break;
                case SLOPE_ACTIVATION_TANH:
                    for (int p = 0; p < in; p++) deltaBelow[p] *= 1 - values[p] * values[p];
                    break;
                case SLOPE_ACTIVATION_SIGMOID:
                    for (int p = 0; p < in; p++) deltaBelow[p] *= values[p] * (1 - values[p]);
                    break;
                default:
                    break;
                }
            }
        }

        // The step (TrainingEngine.applyUpdate, plain sgd): L2 decay on the weights, then
        // w -= learningRate g and the epoch's gradient sum, over the flat buffer.
        if (weightDecay != 0) {
            for (int l = 1; l <= layers; l++) {
                const long offset = network->weightOffsets[l - 1], size = (long)sizes[l - 1] * sizes[l];
                for (long i = 0; i < size; i++) gradients[offset + i] += weightDecay * parameters[offset + i];
            }
        }
        const long parameterCount = network->parameterCount;
        for (long i = 0; i < parameterCount; i++) {
            const T gradient = gradients[i];
            parameters[i] -= learningRate * gradient;
            gradientSums[i] += gradient;
        }
    }
    *weightedLoss = lossTotal;
    *correct = hits;
    return 0;
}

#undef NAME
