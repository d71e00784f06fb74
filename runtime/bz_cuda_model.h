/* What the CUDA model source (model.cu) calls in the runtime. */
#ifndef BZ_CUDA_MODEL_H
#define BZ_CUDA_MODEL_H

struct bz_model;

/* Computes m's deploy arena on the host with the reference backend's
 * deploy_fold (the CUDA kernels read that layout) and uploads it. */
void bz_cuda_fold_on_host(struct bz_model *m);

#endif
