/* needs: util/bz_util.c train/bz_train_math.c */
/* Softmax cross-entropy, Adam and ReduceLROnPlateau against values from
 * PyTorch 1.13.1 (Debian python3-torch), generated offline. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../bz_check.h"
#include "train/bz_train_math.h"
#include "util/bz_util.h"

static int close_to(double a, double b, double rel)
{
    return fabs(a - b) <= rel * (1.0 + fabs(b));
}

/* torch.nn.functional.cross_entropy in float64:
 * logits [[1,2,3],[1000,0,-1000]], labels [2,1]. */
static void test_xent_hand_value(void)
{
    const float logits[6] = { 1, 2, 3, 1000, 0, -1000 };
    const int32_t labels[2] = { 2, 1 };
    const double grad_ref[6] = { 0.04501528658519022, 0.12236423552739882,
                                 -0.1673795221125891, 0.5, -0.5, 0.0 };
    float grad[6];
    int correct = -1;
    double loss = bz_softmax_xent(logits, labels, 2, 3, grad, &correct);
    CHECK(close_to(loss, 500.2038029822222, 1e-14), "xent value (stable at logit 1000)",
          "%.17g", loss);
    CHECK(correct == 1, "xent argmax hits", "%d", correct);
    int grad_ok = 1;
    for (int k = 0; k < 6; k++)
        grad_ok &= fabs(grad[k] - grad_ref[k]) < 1e-7;
    CHECK(grad_ok, "xent gradient matches torch", "%g %g %g", (double)grad[0],
          (double)grad[1], (double)grad[2]);
    CHECK(bz_softmax_xent(logits, labels, 2, 3, NULL, NULL) == loss,
          "xent without outputs gives the same loss", "%s", "");

    const float huge[2] = { 1e30f, 0 };
    const int32_t one[1] = { 1 };
    loss = bz_softmax_xent(huge, one, 1, 2, grad, &correct);
    CHECK(close_to(loss, 1e30, 1e-6) && isfinite(grad[0]) && isfinite(grad[1]) &&
              correct == 0,
          "xent finite for logit 1e30", "%g", loss);
    const int32_t bad[1] = { 2 };
    CHECK(isnan(bz_softmax_xent(huge, bad, 1, 2, grad, &correct)) &&
              strstr(bz_last_error(), "label 2") != NULL,
          "xent rejects an out-of-range label", "%s", bz_last_error());
}

/* Logits are multiples of 1/1024, so logit +- 1/1024 is exact in float and
 * the central difference is taken on the double-precision loss. */
static void test_xent_finite_differences(void)
{
    enum { B = 4, C = 5 };
    float logits[B * C], grad[B * C];
    const int32_t labels[B] = { 0, 3, 4, 3 };
    for (int i = 0; i < B * C; i++)
        logits[i] = (float)(((i * 389) % 4001) - 2000) / 1024.0f;
    bz_softmax_xent(logits, labels, B, C, grad, NULL);
    const float h = 1.0f / 1024.0f;
    double worst = 0.0;
    for (int i = 0; i < B * C; i++) {
        float saved = logits[i];
        logits[i] = saved + h;
        double up = bz_softmax_xent(logits, labels, B, C, NULL, NULL);
        logits[i] = saved - h;
        double down = bz_softmax_xent(logits, labels, B, C, NULL, NULL);
        logits[i] = saved;
        double numeric = (up - down) / (2.0 * (double)h);
        worst = fmax(worst, fabs(numeric - grad[i]));
    }
    CHECK(worst < 1e-6, "xent gradient vs central differences", "max error %g", worst);
}

/* torch.optim.Adam([p], lr=1e-2) with p = [0.5, -1.25, 3, 0, 1e-3] and
 * three scripted gradients; parameters after each step, then the state. */
static void test_adam_trajectory(void)
{
    float p[5] = { 0.5f, -1.25f, 3.0f, 0.0f, 1e-3f }, m[5] = { 0 }, v[5] = { 0 };
    const float grads[3][5] = { { 0.1f, -0.2f, 3.0f, 0.0f, -1e-4f },
                                { 0.3f, 0.05f, -2.0f, 1e-6f, 2.0f },
                                { -0.4f, -0.1f, 0.5f, -1e-6f, 0.25f } };
    const double expected[3][5] = {
        { 0.49000000953674316, -1.2400000095367432, 2.990000009536743, 0.0,
          0.010998999699950218 },
        { 0.48082220554351807, -1.2353053092956543, 2.9885547161102295,
          -0.007337623741477728, 0.003557967022061348 },
        { 0.48143622279167175, -1.2292505502700806, 2.986569881439209,
          -0.006891266908496618, -0.0029422533698379993 },
    };
    const double m_ref[5] = { -0.0049000028520822525, -0.021700000390410423,
                              0.11300000548362732, -1.000000082740371e-08, 0.2049919068813324 };
    const double v_ref[5] = { 0.00025989001733250916, 5.2417544793570414e-05,
                              0.013228008523583412, 1.9990000848607537e-15,
                              0.004058500286191702 };
    bz_adam opt = { .lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8, .step = 0 };
    for (int t = 0; t < 3; t++) {
        bz_adam_step(&opt, p, grads[t], m, v, 5);
        int ok = 1;
        for (int i = 0; i < 5; i++)
            ok &= close_to(p[i], expected[t][i], 4e-7);
        char name[64];
        snprintf(name, sizeof name, "adam step %d matches torch", t + 1);
        CHECK(ok, name, "p = %.9g %.9g %.9g %.9g %.9g", (double)p[0], (double)p[1],
              (double)p[2], (double)p[3], (double)p[4]);
    }
    int state_ok = opt.step == 3;
    for (int i = 0; i < 5; i++)
        state_ok &= close_to(m[i], m_ref[i], 4e-7) && fabs(v[i] - v_ref[i]) <= 4e-7 * v_ref[i];
    CHECK(state_ok, "adam moments after 3 steps match torch", "step %lld",
          (long long)opt.step);
}

/* ReduceLROnPlateau(Adam(lr=1e-3), mode='min', factor=0.5, patience=3):
 * lr after each scheduler.step(metric), from torch. */
static void test_plateau_script(void)
{
    const double metrics[] = { 1.0, 0.9, 0.9, 0.95, 0.91, 0.89999, 0.8, 0.8,
                               0.8, 0.8, 0.8, 0.7999, 0.79995, 0.7, NAN, 0.71,
                               0.72, 0.73, 0.69, 0.7, 0.7, 0.7, 0.7 };
    const double lrs[] = { 1e-3, 1e-3, 1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 5e-4,
                           5e-4, 5e-4, 2.5e-4, 2.5e-4, 2.5e-4, 2.5e-4, 2.5e-4, 2.5e-4,
                           2.5e-4, 1.25e-4, 1.25e-4, 1.25e-4, 1.25e-4, 1.25e-4, 6.25e-5 };
    const int n = (int)(sizeof metrics / sizeof metrics[0]);
    bz_plateau plateau;
    bz_plateau_init(&plateau, 0.5, 3);
    double lr = 1e-3;
    int first_wrong = -1;
    for (int e = 0; e < n; e++) {
        lr = bz_plateau_step(&plateau, metrics[e], lr);
        if (first_wrong < 0 && lr != lrs[e])
            first_wrong = e;
    }
    CHECK(first_wrong < 0, "plateau: reductions after epochs 5, 10, 17, 22 as torch",
          "first difference at epoch %d", first_wrong);
}

/* patience 0, lr 4e-8: negative metrics (rel threshold is looser below 0)
 * and the eps rule: 4e-8 -> 2e-8, then 2e-8 -> 1e-8 is skipped because the
 * change is not above 1e-8. */
static void test_plateau_eps(void)
{
    const double metrics[] = { -1.0, -1.0, -1.00005, -1.0002, 5, 5, 5 };
    const double lrs[] = { 4e-8, 4e-8, 4e-8, 4e-8, 2e-8, 2e-8, 2e-8 };
    bz_plateau plateau;
    bz_plateau_init(&plateau, 0.5, 0);
    double lr = 4e-8;
    int first_wrong = -1;
    for (int e = 0; e < 7; e++) {
        lr = bz_plateau_step(&plateau, metrics[e], lr);
        if (first_wrong < 0 && lr != lrs[e])
            first_wrong = e;
    }
    CHECK(first_wrong < 0, "plateau: negative metrics and the eps rule as torch",
          "first difference at epoch %d", first_wrong);
}

int main(void)
{
    test_xent_hand_value();
    test_xent_finite_differences();
    test_adam_trajectory();
    test_plateau_script();
    test_plateau_eps();
    CHECK_EXIT();
}
