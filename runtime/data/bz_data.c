/* Dataset dispatch, normalisation statistics and batch assembly. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data/bz_data.h"
#include "util/bz_util.h"

#define FASHION_DEFAULT_DIR "/usr/share/datasets/fashion-mnist"
#define CIFAR10_DEFAULT_DIR "data/cifar-10-batches-bin"
#define CIFAR100_DEFAULT_DIR "data/cifar-100-binary"
#define AUGMENT_PAD 4

/* Format readers: bz_data_idx.c and bz_data_cifar.c. */
int bz_data_load_fashion(const char *dir, int train, bz_dataset *out);
int bz_data_load_cifar(int kind, const char *dir, int train, bz_dataset *out);

int bz_dataset_kind_from_name(const char *name)
{
    if (!name)
        return -1;
    if (strcmp(name, "fashion_mnist") == 0)
        return BZ_FASHION_MNIST;
    if (strcmp(name, "cifar10") == 0)
        return BZ_CIFAR10;
    if (strcmp(name, "cifar100") == 0)
        return BZ_CIFAR100;
    return -1;
}

int bz_dataset_load(const char *name, const char *dir, int train, bz_dataset *out)
{
    memset(out, 0, sizeof *out);
    int kind = bz_dataset_kind_from_name(name);
    switch (kind) {
    case BZ_FASHION_MNIST:
        return bz_data_load_fashion(dir ? dir : FASHION_DEFAULT_DIR, train, out);
    case BZ_CIFAR10:
        return bz_data_load_cifar(kind, dir ? dir : CIFAR10_DEFAULT_DIR, train, out);
    case BZ_CIFAR100:
        return bz_data_load_cifar(kind, dir ? dir : CIFAR100_DEFAULT_DIR, train, out);
    default:
        bz_error("unknown dataset '%s' (expected fashion_mnist, cifar10 or cifar100)",
                 name ? name : "(null)");
        return -1;
    }
}

void bz_dataset_free(bz_dataset *d)
{
    free(d->images);
    free(d->labels);
    d->images = NULL;
    d->labels = NULL;
    d->n = 0;
}

int bz_dataset_truncate(bz_dataset *d, int n, const char *option)
{
    if (n > d->n) {
        bz_error("%s %d: the split has only %d examples", option, n, d->n);
        return -1;
    }
    if (n > 0)
        d->n = n;
    return 0;
}

/* Population statistics; a constant channel gets std 1 so that
 * normalising never divides by zero. */
void bz_dataset_channel_stats(const bz_dataset *d, float *mean, float *std)
{
    const int64_t pixels = (int64_t)d->n * d->h * d->w;
    for (int c = 0; c < d->c; c++) {
        uint64_t sum = 0, sum_sq = 0;
        for (int64_t p = 0; p < pixels; p++) {
            uint64_t v = d->images[p * d->c + c];
            sum += v;
            sum_sq += v * v;
        }
        double m = pixels ? (double)sum / (double)pixels : 0.0;
        double var = pixels ? (double)sum_sq / (double)pixels - m * m : 0.0;
        double s = var > 0.0 ? sqrt(var) / 255.0 : 0.0;
        mean[c] = (float)(m / 255.0);
        std[c] = s > 1e-12 ? (float)s : 1.0f;
    }
}

/* How a stored image lands in the output: centred at (pad_y, pad_x), its
 * channel repeated when stored with one channel; lut[sc * 256 + v] is the
 * normalised value of byte v in stored channel sc. */
typedef struct {
    const bz_dataset *d;
    int out_c, out_h, out_w;
    int pad_y, pad_x;
    float *lut;
} batch_map;

static int batch_map_init(batch_map *m, const bz_dataset *d, const float *mean,
                          const float *std, int out_c, int out_h, int out_w)
{
    if (out_c <= 0 || out_h < d->h || out_w < d->w || (d->c != out_c && d->c != 1)) {
        bz_error("cannot map stored %dx%dx%d images to network input %dx%dx%d", d->c, d->h,
                 d->w, out_c, out_h, out_w);
        return -1;
    }
    for (int c = 0; c < d->c; c++) {
        if (!(std[c] > 0.0f) || !isfinite(std[c]) || !isfinite(mean[c])) {
            bz_error("invalid normalisation for channel %d: mean %g std %g", c,
                     (double)mean[c], (double)std[c]);
            return -1;
        }
    }
    *m = (batch_map){ .d = d, .out_c = out_c, .out_h = out_h, .out_w = out_w,
                      .pad_y = (out_h - d->h) / 2, .pad_x = (out_w - d->w) / 2 };
    m->lut = bz_xmalloc((size_t)d->c * 256 * sizeof *m->lut);
    for (int c = 0; c < d->c; c++)
        for (int v = 0; v < 256; v++)
            m->lut[c * 256 + v] = ((float)v / 255.0f - mean[c]) / std[c];
    return 0;
}

/* Value at output coordinates (y, x, c) before augmentation; anything
 * outside the stored image is 0, i.e. the mean in normalised units. */
static float mapped_pixel(const batch_map *m, const uint8_t *img, int y, int x, int c)
{
    const bz_dataset *d = m->d;
    int sy = y - m->pad_y, sx = x - m->pad_x;
    if (sy < 0 || sy >= d->h || sx < 0 || sx >= d->w)
        return 0.0f;
    int sc = d->c == 1 ? 0 : c;
    return m->lut[sc * 256 + img[((size_t)sy * d->w + sx) * d->c + sc]];
}

/* Crop offset (dy, dx) in [-4, 4] from the zero-padded image, then an
 * optional horizontal flip: out[y][x] = mapped[y + dy][x' + dx] with
 * x' = flip ? W-1-x : x.  No augmentation is dy = dx = flip = 0. */
static void fill_example(const batch_map *m, const uint8_t *img, int dy, int dx, int flip,
                         float *x_out)
{
    for (int y = 0; y < m->out_h; y++) {
        for (int x = 0; x < m->out_w; x++) {
            int sx = (flip ? m->out_w - 1 - x : x) + dx;
            float *px = x_out + ((size_t)y * m->out_w + x) * m->out_c;
            for (int c = 0; c < m->out_c; c++)
                px[c] = mapped_pixel(m, img, y + dy, sx, c);
        }
    }
}

static int check_batch_args(const bz_dataset *d, const int32_t *indices, int batch,
                            int augment, const bz_rng *rng)
{
    if (batch < 0 || (batch > 0 && (!indices || !d->images))) {
        bz_error("invalid batch request (batch %d)", batch);
        return -1;
    }
    if (augment && !rng) {
        bz_error("augmentation requested without a random number generator");
        return -1;
    }
    for (int i = 0; i < batch; i++) {
        if (indices[i] < 0 || indices[i] >= d->n) {
            bz_error("batch index %d is out of range 0..%d", (int)indices[i], d->n - 1);
            return -1;
        }
    }
    return 0;
}

int bz_make_batch(const bz_dataset *d, const int32_t *indices, int batch,
                  const float *mean, const float *std, int augment, bz_rng *rng,
                  int out_c, int out_h, int out_w, float *x, int32_t *labels)
{
    batch_map map;
    if (check_batch_args(d, indices, batch, augment, rng) != 0 ||
        batch_map_init(&map, d, mean, std, out_c, out_h, out_w) != 0)
        return -1;
    const size_t image_bytes = (size_t)d->h * d->w * d->c;
    const size_t out_floats = (size_t)out_h * out_w * out_c;
    for (int i = 0; i < batch; i++) {
        int dy = 0, dx = 0, flip = 0;
        if (augment) {
            dy = (int)bz_rng_below(rng, 2 * AUGMENT_PAD + 1) - AUGMENT_PAD;
            dx = (int)bz_rng_below(rng, 2 * AUGMENT_PAD + 1) - AUGMENT_PAD;
            flip = (int)bz_rng_below(rng, 2);
        }
        fill_example(&map, d->images + (size_t)indices[i] * image_bytes, dy, dx, flip,
                     x + (size_t)i * out_floats);
        if (labels)
            labels[i] = d->labels[indices[i]];
    }
    free(map.lut);
    return 0;
}
