# BlockZoo-C: YAML specs -> bzgen -> m4 -> one binary per experiment.
#
#   make [EXP=resnet_basic_block_mid]   build build/<exp>/<exp>
#   make EXP=... NUM_BLOCKS=2 BASE_CHANNELS=16 CLASSES=100 INPUT_SIZE=32
#                                       a variant, in build/<exp>-nb2-bc16-c100-in32/
#   make EXP=... KEEP_ACTIVATIONS=1     the variant whose backward recomputes
#                                       nothing (bzgen --keep-activations), -keep
#   make gen EXP=...                    emit the sources only, for reading (the
#                                       kernels': build/kernels/<macro>/<name>.*.c)
#   make cuda-objects                   every experiment's model.cu, compiled by nvcc
#   make list | all | run | test | clean
#   make bench-vs-torch [EXP="a b"] [THREADS=2]   speed against PyTorch
#   make bench-vs-torch-cuda [EXP="a b"] [PRECISION=tf32]   ... on a GPU
#   make sweep [SWEEP=quick] [EXPS="glob ..."] [SEEDS="0 1"] [JOBS=N] [RUNNER=slurm]
#   make sweep-status | report [SWEEP=quick]    a sweep's runs; its report
# Settings (CC, CFLAGS, CUDA, NVCC, NVCC_FLAGS) are recorded under build/config/
# and build/build_info.c; changing one rebuilds what it affects.
# See README.md.

EXP ?= resnet_basic_block_mid
NUM_BLOCKS ?=
BASE_CHANNELS ?=
CLASSES ?=
INPUT_SIZE ?=
KEEP_ACTIVATIONS ?=
# `make run`, the README's main job: the quick form of EXP, a narrow
# variant of the same network, profiled, benchmarked and trained briefly.
RUN_VARIANT ?= NUM_BLOCKS=1 BASE_CHANNELS=16
RUN_TRAIN ?= --epochs 2 --batch-size 128

CC := gcc
M4 := m4
WARN := -Wall -Wextra -Werror
CSTD := -std=c11 -D_GNU_SOURCE
# CFLAGS (empty unless given) is appended to ours, e.g. make CFLAGS=-g
CFLAGS_GEN := $(CSTD) $(WARN) -O2 $(shell pkg-config --cflags yaml-0.1) $(CFLAGS)
LIBS_GEN := $(shell pkg-config --libs yaml-0.1) -lm
# OpenBLAS's OpenMP build shares our OpenMP thread pool; the pthread build's
# threads and OpenMP's spinning workers fight over the cores (25x slower
# batch-1 latency on 2 cores).
BLAS_PC := /usr/lib/x86_64-linux-gnu/openblas-openmp/pkgconfig
BLAS_CFLAGS := $(shell PKG_CONFIG_PATH=$(BLAS_PC) pkg-config --cflags openblas)
BLAS_LIBS := $(shell PKG_CONFIG_PATH=$(BLAS_PC) pkg-config --libs openblas) \
             -Wl,-rpath,$(shell PKG_CONFIG_PATH=$(BLAS_PC) pkg-config --variable=libdir openblas)
# The runtime's sources include each other by their path under runtime/
# ("io/bz_csv.h"); generated models include bz_model.h and bz_kernels.h
# (CUDA: bz_cuda.cuh, bz_cuda_model.h) by name.
RT_INCLUDES := -Iruntime -Iruntime/model -Iruntime/kernels
RT_COMMON := -march=native -fopenmp $(RT_INCLUDES) $(BLAS_CFLAGS) \
             $(shell pkg-config --cflags jansson zlib)
CFLAGS_RT := $(CSTD) $(WARN) -O2 $(RT_COMMON) $(CFLAGS)
# The reference backend (model_ref.c), the tests' oracle, compiles with the
# same flags: ISO C mode keeps its floats those of -O0 (no contraction or
# reassociation at any level), and -O2 vectorises its loops over
# independent sums, which the parity tests wait on.
LIBS_RT := $(BLAS_LIBS) $(shell pkg-config --libs jansson zlib) -lm

B := build
CONFIG := $(B)/config
GEN_SRC := $(wildcard gen/*.c)
GEN_HDR := $(wildcard gen/*.h)
# runtime/<part>/: util, io, data, model, kernels, train, bench, report,
# cli (bz_main.c is main.o, not in the library), cuda (runtime/cuda/*.cu)
RT_SRC := $(filter-out runtime/cli/bz_main.c,$(wildcard runtime/*/*.c))
RT_HDR := $(wildcard runtime/*/*.h)
RT_OBJ := $(patsubst runtime/%.c,$(B)/runtime/%.o,$(RT_SRC))
BLOCKS := $(wildcard blocks/*.yaml)
TEMPLATES := $(wildcard templates/*.m4 templates/*/*.m4)
SPECS := $(filter-out specs/defaults.yaml,$(wildcard specs/*.yaml))
EXPERIMENTS := $(sort $(basename $(notdir $(SPECS))))

# A variant's name encodes its generation-time overrides, so every rule can
# recover them from the directory name alone.
VARIANT := $(EXP)$(if $(NUM_BLOCKS),-nb$(NUM_BLOCKS))$(if $(BASE_CHANNELS),-bc$(BASE_CHANNELS))$(if $(CLASSES),-c$(CLASSES))$(if $(INPUT_SIZE),-in$(INPUT_SIZE))$(if $(KEEP_ACTIVATIONS),-keep)
BIN := $(B)/$(VARIANT)/$(VARIANT)
flag_of = $(if $(filter keep,$(1)),--keep-activations,$(if $(filter nb%,$(1)),--num-blocks $(patsubst nb%,%,$(1)),$(if $(filter bc%,$(1)),--base-channels $(patsubst bc%,%,$(1)),$(if $(filter in%,$(1)),--input-size $(patsubst in%,%,$(1)),$(if $(filter c%,$(1)),--classes $(patsubst c%,%,$(1)))))))
variant_spec = specs/$(firstword $(subst -, ,$(1))).yaml
variant_flags = $(foreach p,$(wordlist 2,9,$(subst -, ,$(1))),$(call flag_of,$(p)))

.PHONY: default gen print-c-sources list all runtime run test clean sweep sweep-status report fuzz bench-vs-torch bench-vs-torch-cuda cuda-objects print-nvcc-flags print-nvcc
.SECONDARY:
default: $(BIN)

$(B)/bzgen: $(GEN_SRC) $(GEN_HDR) $(CONFIG)/gen
	@mkdir -p $(B)
	$(CC) $(CFLAGS_GEN) -o $@ $(GEN_SRC) $(LIBS_GEN)

# bzgen under ASan and UBSan for the tests (tests/t_bad_yaml.sh): every
# spec and every bad input must run clean (leaks aside: bzgen is a one-shot
# compiler that leaves its memory to the exit)
$(B)/tests/bzgen-asan: $(GEN_SRC) $(GEN_HDR) $(CONFIG)/gen
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_GEN) -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -o $@ $(GEN_SRC) $(LIBS_GEN)

# Fuzzing harnesses: the readers' (tests/fuzz/fuzz_read.c) and bzgen, with
# ASan and UBSan for the replay of the corpora (tests/t_fuzz_replay.sh), and
# with afl-cc for `make fuzz TARGET=... [SECONDS=600]` (scripts/fuzz.sh)
FUZZ_READ_SRC := tests/fuzz/fuzz_read.c $(addprefix runtime/,util/bz_util.c util/bz_rng.c \
                 data/bz_data.c data/bz_data_idx.c data/bz_data_cifar.c io/bz_safetensors.c \
                 io/bz_npy.c)
FUZZ_READ_FLAGS := $(CSTD) $(WARN) -g -O1 -Iruntime $(shell pkg-config --cflags jansson zlib)
FUZZ_READ_LIBS := $(shell pkg-config --libs jansson zlib) -lm
$(B)/tests/fuzz_read-asan: $(FUZZ_READ_SRC) $(RT_HDR) $(CONFIG)/gen
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_READ_FLAGS) -fsanitize=address,undefined -fno-sanitize-recover=all \
	    -o $@ $(FUZZ_READ_SRC) $(FUZZ_READ_LIBS)
$(B)/fuzz/fuzz_read: $(FUZZ_READ_SRC) $(RT_HDR)
	@mkdir -p $(dir $@)
	AFL_USE_ASAN=1 afl-cc $(FUZZ_READ_FLAGS) -o $@ $(FUZZ_READ_SRC) $(FUZZ_READ_LIBS)
$(B)/fuzz/bzgen: $(GEN_SRC) $(GEN_HDR)
	@mkdir -p $(dir $@)
	AFL_USE_ASAN=1 afl-cc $(CFLAGS_GEN) -g -o $@ $(GEN_SRC) $(LIBS_GEN)
TARGET ?=
SECONDS ?= 600
fuzz:
	scripts/fuzz.sh '$(TARGET)' '$(SECONDS)'

# bzsweep: sweeps of experiments x seeds, here or on Slurm, and their
# report; it shares bzgen's YAML reader and diagnostics.
SWEEP_SRC := $(wildcard sweep/*.c) gen/yaml_doc.c gen/diag.c
$(B)/bzsweep: $(SWEEP_SRC) $(wildcard sweep/*.h) gen/yaml_doc.h gen/diag.h $(CONFIG)/gen
	@mkdir -p $(B)
	$(CC) $(CFLAGS_GEN) -o $@ $(SWEEP_SRC) $(LIBS_GEN) $(shell pkg-config --libs jansson)

$(B)/runtime/%.o: runtime/%.c $(RT_HDR) $(CONFIG)/cc
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_RT) -c -o $@ $<

$(B)/libbzrt.a: $(RT_OBJ)
	rm -f $@ && ar rcs $@ $^

runtime: $(B)/libbzrt.a

# bzgen checks the specs and writes model.m4 and desc.m4 (data only), and
# kernels.mk: the kernel units the model calls, each one file under
# $(B)/kernels/ that every model calling it shares (bzgen rewrites a unit
# only when its text changes), so that a kernel compiles once per backend
# however many experiments use it.
KERNELS := $(B)/kernels
$(B)/%/model.m4 $(B)/%/desc.m4 $(B)/%/kernels.mk: $(B)/bzgen $(BLOCKS) specs/defaults.yaml $(SPECS)
	@mkdir -p $(dir $@)
	$(B)/bzgen --spec $(call variant_spec,$*) --blocks blocks --name $* \
	    $(call variant_flags,$*) --output $(B)/$*/model.m4 --kernel-dir $(KERNELS)

# m4 expands them with the templates, once per backend; a macro that a
# backend's templates do not define fails the build, naming it
# (scripts/check-expanded.sh: m4 itself copies an unknown name through).
EXPANDED = scripts/check-expanded.sh $@ $@.tmp $< && mv $@.tmp $@
# expand_c LABEL, PREFIX: $< through templates/model.c.m4 for one C backend
expand_c = $(M4) -P -I templates -D bz_backend_label=$(1) -D bz_fn_prefix=$(2) \
    templates/model.c.m4 $< > $@.tmp && $(EXPANDED)
$(B)/%/model_ref.c: $(B)/%/model.m4 $(TEMPLATES) scripts/check-expanded.sh
	$(call expand_c,reference,ref)
$(B)/%/model_opt.c: $(B)/%/model.m4 $(TEMPLATES) scripts/check-expanded.sh
	$(call expand_c,optimised,opt)
$(B)/%/model_desc.c: $(B)/%/desc.m4 $(TEMPLATES) scripts/check-expanded.sh
	$(M4) -P -I templates templates/desc.c.m4 $< > $@.tmp && $(EXPANDED)
# a kernel unit, once per backend (templates/model.c.m4 expands both kinds)
$(KERNELS)/%.ref.c: $(KERNELS)/%.m4 $(TEMPLATES) scripts/check-expanded.sh
	$(call expand_c,reference,ref)
$(KERNELS)/%.opt.c: $(KERNELS)/%.m4 $(TEMPLATES) scripts/check-expanded.sh
	$(call expand_c,optimised,opt)

# The kernel lists of the variants this run builds: those named by the
# goals (build/<variant>/...), every experiment for `all`, EXP's variant
# by default.  A list that is missing or older than its spec is remade
# first (make then restarts); under -n and -q the lists are read as they
# are, so that a question changes nothing.
goal_variant = $(if $(filter $(B)/%,$(1)),$(firstword $(subst /, ,$(patsubst $(B)/%,%,$(1)))))
is_variant = $(if $(filter $(EXPERIMENTS),$(firstword $(subst -, ,$(1)))),$(1))
LISTED := $(sort $(if $(filter all,$(MAKECMDGOALS)),$(EXPERIMENTS)) \
    $(if $(filter default gen print-c-sources,$(or $(MAKECMDGOALS),default)),$(VARIANT)) \
    $(foreach g,$(MAKECMDGOALS),$(call is_variant,$(call goal_variant,$(g)))))
KERNEL_LISTS := $(foreach v,$(LISTED),$(B)/$(v)/kernels.mk)
ifeq ($(findstring n,$(firstword -$(MAKEFLAGS)))$(findstring q,$(firstword -$(MAKEFLAGS))),)
-include $(KERNEL_LISTS)
else
$(foreach f,$(wildcard $(KERNEL_LISTS)),$(eval $(file <$(f))))
endif
# unit_objects VARIANT, BACKENDS: the kernel objects VARIANT links
unit_objects = $(foreach u,$(KERNEL_UNITS_$(1)),$(foreach b,$(2),$(u).$(b).o))

# The CUDA backend (templates/model.cu.m4, runtime/cuda/*.cu), for sm_90 with
# PTX for newer GPUs, where nvcc is found: each binary then holds both
# backends and picks one at run time (--device).  `make CUDA=` builds
# CPU-only binaries on a machine with nvcc.
NVCC ?= $(or $(shell command -v nvcc),$(wildcard /usr/local/cuda/bin/nvcc))
CUDA ?= $(if $(NVCC),1,)
NVCC_FLAGS := -std=c++17 -O2 -Iruntime -Iruntime/model -Iruntime/cuda \
              -gencode arch=compute_90,code=sm_90 \
              -gencode arch=compute_90,code=compute_90 --default-stream per-thread \
              -Werror all-warnings -Xcompiler -Wall,-Wextra,-Werror
# the toolkit's own directory: the nvcc on PATH may be a wrapper elsewhere
CUDA_TOP := $(if $(NVCC),$(shell $(NVCC) --dryrun -o x x.o 2>&1 | sed -n 's/^\#\$$ TOP=//p'))
CUDA_LIBS = -L$(CUDA_TOP)/lib64 -lcudart_static -ldl -lrt -lpthread -lstdc++
# The build configuration is part of the build, as the Linux kernel's
# saved command lines or CMake's cache are: each concern's settings are
# kept in a file under $(B)/config/ that is remade, and so makes what
# depends on it, exactly when the settings differ from the file's text
# (a read-only check while the Makefile is read, so `make -n` and `make -q`
# tell the truth).  The link settings and what a binary records of its
# build (commit, why it has no CUDA) are $(B)/build_info.c.
CONFIG_GEN = $(CC) $(CFLAGS_GEN) $(LIBS_GEN)
CONFIG_CC = $(CC) $(CFLAGS_RT)
CONFIG_NVCC = $(NVCC) $(NVCC_FLAGS) $(CUDA_TOP)
COMMIT := $(or $(shell git rev-parse --short=12 HEAD 2>/dev/null),unknown)$(if $(shell git status --porcelain --untracked-files=no 2>/dev/null),-dirty)
CUDA_NOTE = $(if $(CUDA),,$(if $(NVCC),make ran with CUDA= (nvcc is $(NVCC)); make without CUDA= links the CUDA backend,make found no nvcc (none on PATH or in /usr/local/cuda/bin)))
BUILD_INFO = /* generated by make; every binary links it: $(CC) $(CFLAGS_RT) $(LIBS_RT) $(if $(CUDA),$(CUDA_LIBS)) */ const char bz_build_commit[] = "$(COMMIT)"; const char bz_build_cuda_note[] = "$(CUDA_NOTE)";
shell_quote = '$(subst ','\'',$(1))'
# FORCE when file $(1) does not hold the text of variable $(2)
config_changed = $(if $(shell printf '%s\n' $(call shell_quote,$($(2))) | cmp -s - $(1) || echo changed),FORCE)
write_config = @mkdir -p $(dir $@) && printf '%s\n' $(call shell_quote,$($(1))) > $@
$(CONFIG)/gen: $(call config_changed,$(CONFIG)/gen,CONFIG_GEN)
	$(call write_config,CONFIG_GEN)
$(CONFIG)/cc: $(call config_changed,$(CONFIG)/cc,CONFIG_CC)
	$(call write_config,CONFIG_CC)
$(CONFIG)/nvcc: $(call config_changed,$(CONFIG)/nvcc,CONFIG_NVCC)
	$(call write_config,CONFIG_NVCC)
$(B)/build_info.c: $(call config_changed,$(B)/build_info.c,BUILD_INFO)
	$(call write_config,BUILD_INFO)
FORCE:
.PHONY: FORCE

RT_CUDA_SRC := $(wildcard runtime/cuda/*.cu)
RT_CUDA_OBJ := $(patsubst runtime/%.cu,$(B)/runtime/%.o,$(RT_CUDA_SRC))
no_nvcc = @echo "nvcc not found: no CUDA objects" >&2; exit 1
$(B)/%/model.cu: $(B)/%/model.m4 $(TEMPLATES) scripts/check-expanded.sh
	$(M4) -P -I templates -D bz_backend_label=cuda -D bz_fn_prefix=cuda \
	    templates/model.cu.m4 $< > $@.tmp && $(EXPANDED)
$(B)/%/model_cuda.o: $(B)/%/model.cu runtime/cuda/bz_cuda.cuh $(RT_HDR) $(CONFIG)/nvcc
	$(if $(NVCC),$(NVCC) $(NVCC_FLAGS) -c -o $@ $<,$(no_nvcc))
# cuBLAS is opened at run time (runtime/cuda/bz_cuda_blas.cu), from the toolkit
$(B)/runtime/%.o: runtime/%.cu runtime/cuda/bz_cuda.cuh $(RT_HDR) $(CONFIG)/nvcc
	@mkdir -p $(dir $@)
	$(if $(NVCC),$(NVCC) $(NVCC_FLAGS) -DBZ_CUBLAS_LIBRARY='"$(CUDA_TOP)/lib64/libcublas.so"' \
	    -c -o $@ $<,$(no_nvcc))
$(B)/libbzrt_cuda.a: $(RT_CUDA_OBJ)
	rm -f $@ && ar rcs $@ $^
print-nvcc-flags:
	@echo $(NVCC_FLAGS)
print-nvcc:
	@echo $(NVCC)
cuda-objects: $(foreach e,$(EXPERIMENTS),$(B)/$(e)/model_cuda.o)

# (generated sources include bz_model.h and bz_kernels.h, which include
# further runtime headers: any of them changing rebuilds them)
$(B)/%.o: $(B)/%.c $(RT_HDR) $(CONFIG)/cc
	$(CC) $(CFLAGS_RT) -c -o $@ $<
# The kernel units, hundreds of small sources, with their common header
# (runtime/model/bz_source.h) precompiled: a third of the time of the
# reference backend's units, half of the optimised ones'.  -Winvalid-pch
# (an error here) says when the header was compiled with other flags.
PCH := $(B)/pch/bz_source.h.gch
$(PCH): runtime/model/bz_source.h $(RT_HDR) $(CONFIG)/cc
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_RT) -x c-header -o $@ $<
$(KERNELS)/%.o: $(KERNELS)/%.c $(PCH) $(RT_HDR) $(CONFIG)/cc
	$(CC) -I$(dir $(PCH)) -Winvalid-pch $(CFLAGS_RT) -c -o $@ $<

$(B)/main.o: runtime/cli/bz_main.c $(RT_HDR) $(CONFIG)/cc
	$(CC) $(CFLAGS_RT) -c -o $@ $<

define experiment_binary
$(B)/$(1)/$(1): $(B)/$(1)/model_ref.o $(B)/$(1)/model_opt.o $(B)/$(1)/model_desc.o $(B)/main.o \
                $(call unit_objects,$(1),ref opt) \
                $(B)/build_info.o $(B)/libbzrt.a $(if $(CUDA),$(B)/$(1)/model_cuda.o $(B)/libbzrt_cuda.a)
	$$(CC) $$(CFLAGS_RT) -o $$@ $$(filter %.o,$$^) $(B)/libbzrt.a \
	    $(if $(CUDA),$(B)/libbzrt_cuda.a $$(CUDA_LIBS)) $$(LIBS_RT)
# tests/t_twin.sh: the binary with tests/twin/host_device.c standing in for
# the CUDA backend (host memory, reference kernels)
$(B)/$(1)/host_device_twin: $(B)/$(1)/model_ref.o $(B)/$(1)/model_opt.o $(B)/$(1)/model_desc.o \
                $(call unit_objects,$(1),ref opt) $(B)/main.o $(B)/tests/host_device.o $(B)/libbzrt.a
	$$(CC) $$(CFLAGS_RT) -o $$@ $$(filter %.o,$$^) $(B)/libbzrt.a $$(LIBS_RT)
endef
# VARIANTS: more variant names to define binaries for (make -j VARIANTS=...)
$(foreach v,$(sort $(EXPERIMENTS) $(VARIANT) $(VARIANTS)),$(eval $(call experiment_binary,$(v))))

$(B)/tests/host_device.o: tests/twin/host_device.c $(RT_HDR) $(CONFIG)/cc
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_RT) -c -o $@ $<

gen: $(B)/$(VARIANT)/model_ref.c $(B)/$(VARIANT)/model_opt.c $(B)/$(VARIANT)/model_desc.c \
     $(B)/$(VARIANT)/model.cu $(foreach u,$(KERNEL_UNITS_$(VARIANT)),$(u).ref.c $(u).opt.c)
	@echo "sources in $(B)/$(VARIANT)/, its kernel units' in $(KERNELS)/ (listed in $(B)/$(VARIANT)/kernels.mk)"

# the C sources of EXP's variant (make gen first), for builds outside make
# (tests/t_cli.sh: the binary under ASan and valgrind)
print-c-sources:
	@echo $(B)/$(VARIANT)/model_ref.c $(B)/$(VARIANT)/model_opt.c $(B)/$(VARIANT)/model_desc.c \
	    $(foreach u,$(KERNEL_UNITS_$(VARIANT)),$(u).ref.c $(u).opt.c)

RUN_NAME = $(EXP)$(subst $(space),,$(foreach a,$(RUN_VARIANT),$(call run_suffix,$(a))))
space := $(subst ,, )
run_suffix = $(if $(filter NUM_BLOCKS=%,$(1)),-nb$(patsubst NUM_BLOCKS=%,%,$(1)),$(if $(filter BASE_CHANNELS=%,$(1)),-bc$(patsubst BASE_CHANNELS=%,%,$(1)),$(if $(filter CLASSES=%,$(1)),-c$(patsubst CLASSES=%,%,$(1)),$(if $(filter INPUT_SIZE=%,$(1)),-in$(patsubst INPUT_SIZE=%,%,$(1))))))
RUN_BIN = $(B)/$(RUN_NAME)/$(RUN_NAME)

run:
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory EXP=$(EXP) $(RUN_VARIANT) && \
	echo "== $(RUN_BIN) profile" && $(RUN_BIN) profile && \
	echo "== $(RUN_BIN) bench --multi-batch 1,256" && $(RUN_BIN) bench --multi-batch 1,256 && \
	echo "== $(RUN_BIN) train $(RUN_TRAIN)" && $(RUN_BIN) train $(RUN_TRAIN) && \
	echo "== make run: $$(($$(date +%s) - start)) s in all (build, profile, bench, train)"

list:
	@for e in $(EXPERIMENTS); do echo $$e; done

all: $(foreach e,$(EXPERIMENTS),$(B)/$(e)/$(e))

test:
	tests/run.sh

# Sweeps (sweeps/<SWEEP>.yaml, build/bzsweep): every experiment x seed of
# the sweep, here (JOBS at a time) or on Slurm (RUNNER=slurm), resumable;
# make variables override the sweep file's settings.
SWEEP ?= quick
SWEEP_FILE = sweeps/$(SWEEP).yaml
sweep_opt = $(if $($(1)),$(2) '$($(1))')
SWEEP_OPTS = $(call sweep_opt,EXPS,--experiments) $(call sweep_opt,SEEDS,--seeds) \
    $(call sweep_opt,JOBS,--jobs) $(call sweep_opt,RUNNER,--runner) \
    $(call sweep_opt,NUM_BLOCKS,--num-blocks) $(call sweep_opt,BASE_CHANNELS,--base-channels) \
    $(call sweep_opt,CLASSES,--classes) $(call sweep_opt,INPUT_SIZE,--input-size) \
    $(call sweep_opt,EPOCHS,--epochs) $(call sweep_opt,SUBSET,--subset) \
    $(call sweep_opt,DATASET,--dataset) $(call sweep_opt,DATA,--data) \
    $(call sweep_opt,PARTITION,--partition) $(call sweep_opt,SLURM_TIME,--time) \
    $(call sweep_opt,CPUS_PER_TASK,--cpus-per-task) $(call sweep_opt,SWEEPS_DIR,--out)
sweep: $(B)/bzsweep
	$(B)/bzsweep run $(SWEEP_FILE) $(SWEEP_OPTS) --make CUDA=$(CUDA)
sweep-status: $(B)/bzsweep
	$(B)/bzsweep status $(SWEEP_FILE) $(SWEEP_OPTS)
report: $(B)/bzsweep
	$(B)/bzsweep report --sweep $(SWEEP_FILE) $(call sweep_opt,SWEEPS_DIR,--out)

# Side by side with PyTorch on this CPU (scripts/bench_vs_torch.py): every
# experiment, or EXP="a b" given on the command line; THREADS each side.
THREADS ?= 2
BENCH_EXPERIMENTS := $(if $(filter command line environment,$(origin EXP)),$(EXP),$(EXPERIMENTS))
bench-vs-torch: $(B)/bzgen
	/usr/bin/python3 scripts/bench_vs_torch.py --threads $(THREADS) $(BENCH_EXPERIMENTS)
# ... and on a GPU (scripts/bench_vs_torch_cuda.py), with a Python whose
# PyTorch has CUDA; PRECISION tf32 or fp32 on both sides.
GPU_PYTHON ?= python3
PRECISION ?= tf32
bench-vs-torch-cuda: $(B)/bzgen
	$(GPU_PYTHON) scripts/bench_vs_torch_cuda.py --precision $(PRECISION) $(BENCH_EXPERIMENTS)

clean:
	rm -rf $(B)
