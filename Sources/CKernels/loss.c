// Softmax + cross-entropy over rows of logits, numerically stable (max subtracted).
#include <math.h>
#include "tinyconv_kernels.h"

double tc_softmax_xent(int n, int classes, const float *logits, const int32_t *labels,
                       float *prob, float *dlogits, float grad_scale) {
    double total = 0.0;
    for (int r = 0; r < n; r++) {
        const float *z = logits + (size_t)r * classes;
        float *p = prob + (size_t)r * classes;
        float m = z[0];
        for (int c = 1; c < classes; c++) m = z[c] > m ? z[c] : m;
        float sum = 0.0f;
        for (int c = 0; c < classes; c++) {
            p[c] = expf(z[c] - m);
            sum += p[c];
        }
        const float inv = 1.0f / sum;
        for (int c = 0; c < classes; c++) p[c] *= inv;
        const int y = labels[r];
        // log p_y = z_y - m - log(sum): exact even when p_y underflows
        total -= (double)(z[y] - m - logf(sum));
        if (dlogits) {
            float *d = dlogits + (size_t)r * classes;
            for (int c = 0; c < classes; c++) d[c] = (p[c] - (c == y ? 1.0f : 0.0f)) * grad_scale;
        }
    }
    return total;
}
