/* The experiment binary's commands and their shared option handling. */
#ifndef BZ_CLI_H
#define BZ_CLI_H

#include "model/bz_model.h"

typedef int (*bz_command_fn)(const bz_model_desc *d, int argc, char **argv);

int bz_cmd_profile(const bz_model_desc *d, int argc, char **argv);
int bz_cmd_bench(const bz_model_desc *d, int argc, char **argv);
int bz_cmd_train(const bz_model_desc *d, int argc, char **argv);
int bz_cmd_forward(const bz_model_desc *d, int argc, char **argv);
int bz_cmd_grad(const bz_model_desc *d, int argc, char **argv);
int bz_cmd_export(const bz_model_desc *d, int argc, char **argv);

/* Option values; each exits through bz_fatal with "--name wants ..." on
 * malformed input. */
long bz_opt_long(const char *name, const char *text, long lo, long hi);
double bz_opt_double(const char *name, const char *text, double lo, double hi);
/* The backend named by --backend (default: optimised). */
const bz_backend *bz_opt_backend(const bz_model_desc *d, const char *text);
/* The backend for --device (cpu or cuda; NULL: cuda where this binary
 * has it and a GPU is usable, else cpu), --backend (a CPU backend; NULL:
 * optimised) and --precision (fp32, tf32 or bf16; NULL: tf32 on cuda,
 * fp32 on cpu), applied to the device.  Exits with a message on a bad or
 * impossible choice. */
const bz_backend *bz_opt_device(const bz_model_desc *d, const char *device, const char *backend,
                                const char *precision);
/* Applies --threads N (0: leave OpenMP and OpenBLAS defaults). */
void bz_set_threads(int threads);
int bz_get_threads(void);
/* For getopt_long's '?' and ':' results. */
_Noreturn void bz_bad_option(const char *command, char **argv);

#endif
