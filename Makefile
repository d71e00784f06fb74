# BlockZoo-C: YAML specs -> bzgen -> m4 -> one binary per experiment.
#   make                       build the default experiment (EXP)
#   make EXP=inverted_residual_late [NUM_BLOCKS=2 BASE_CHANNELS=16 CLASSES=100 INPUT_SIZE=32]
#   make gen EXP=...           emit the sources only (build/<exp>/model_*.c)
#   make list | all | test | clean
# See README.md.

EXP ?= resnet_basic_block_mid
NUM_BLOCKS ?=
BASE_CHANNELS ?=
CLASSES ?=
INPUT_SIZE ?=

CC := gcc
M4 := m4
WARN := -Wall -Wextra -Werror
CSTD := -std=c11 -D_GNU_SOURCE
OPT := -O2 -march=native -fopenmp
CFLAGS_GEN := $(CSTD) $(WARN) -O2 $(shell pkg-config --cflags yaml-0.1)
LIBS_GEN := $(shell pkg-config --libs yaml-0.1) -lm
CFLAGS_RT := $(CSTD) $(WARN) $(OPT) $(shell pkg-config --cflags openblas jansson zlib) -Iruntime
LIBS_RT := $(shell pkg-config --libs openblas jansson zlib) -lm

B := build
GEN_SRC := $(wildcard gen/*.c)
GEN_HDR := $(wildcard gen/*.h)
RT_SRC := $(filter-out runtime/bz_main.c,$(wildcard runtime/*.c))
RT_HDR := $(wildcard runtime/*.h)
RT_OBJ := $(patsubst runtime/%.c,$(B)/runtime/%.o,$(RT_SRC))
BLOCKS := $(wildcard blocks/*.yaml)
TEMPLATES := $(wildcard templates/*.m4)
SPECS := $(filter-out specs/defaults.yaml,$(wildcard specs/*.yaml))
EXPERIMENTS := $(sort $(basename $(notdir $(SPECS))))

# A variant's directory name encodes its generation-time overrides.
VARIANT := $(EXP)$(if $(NUM_BLOCKS),-nb$(NUM_BLOCKS))$(if $(BASE_CHANNELS),-bc$(BASE_CHANNELS))$(if $(CLASSES),-c$(CLASSES))$(if $(INPUT_SIZE),-in$(INPUT_SIZE))
GEN_FLAGS := $(if $(NUM_BLOCKS),--num-blocks $(NUM_BLOCKS)) $(if $(BASE_CHANNELS),--base-channels $(BASE_CHANNELS)) $(if $(CLASSES),--classes $(CLASSES)) $(if $(INPUT_SIZE),--input-size $(INPUT_SIZE))
VDIR := $(B)/$(VARIANT)

.PHONY: default gen list all runtime test test-unit clean run
default: $(VDIR)/$(VARIANT)

$(B)/bzgen: $(GEN_SRC) $(GEN_HDR)
	@mkdir -p $(B)
	$(CC) $(CFLAGS_GEN) -o $@ $(GEN_SRC) $(LIBS_GEN)

$(B)/runtime/%.o: runtime/%.c $(RT_HDR)
	@mkdir -p $(B)/runtime
	$(CC) $(CFLAGS_RT) -c -o $@ $<

$(B)/libbzrt.a: $(RT_OBJ)
	rm -f $@ && ar rcs $@ $^

runtime: $(B)/libbzrt.a

# bzgen writes model.m4 (data only); m4 expands it with the templates.
$(B)/%/model.m4: $(B)/bzgen $(BLOCKS) specs/defaults.yaml $(SPECS)
	@mkdir -p $(dir $@)
	$(B)/bzgen --spec specs/$(firstword $(subst -, ,$*)).yaml --blocks blocks \
	    --name $* $(GEN_FLAGS) --output $@

$(B)/%/model_ref.c: $(B)/%/model.m4 $(TEMPLATES)
	$(M4) -P -I templates -D bz_backend_label=reference -D bz_fn_prefix=ref templates/model.c.m4 $< > $@.tmp && mv $@.tmp $@

$(B)/%/model_opt.c: $(B)/%/model.m4 $(TEMPLATES)
	$(M4) -P -I templates -D bz_backend_label=optimised -D bz_fn_prefix=opt templates/model.c.m4 $< > $@.tmp && mv $@.tmp $@

$(B)/%/model_desc.c: $(B)/%/model.m4 $(TEMPLATES)
	$(M4) -P -I templates templates/desc.c.m4 $(dir $<)desc.m4 > $@.tmp && mv $@.tmp $@

gen: $(VDIR)/model_ref.c $(VDIR)/model_opt.c $(VDIR)/model_desc.c

$(VDIR)/$(VARIANT): $(VDIR)/model_ref.c $(VDIR)/model_opt.c $(VDIR)/model_desc.c runtime/bz_main.c $(B)/libbzrt.a
	$(CC) $(CFLAGS_RT) -o $@ $(filter %.c,$^) $(B)/libbzrt.a $(LIBS_RT)

list:
	@for e in $(EXPERIMENTS); do echo $$e; done

all:
	@for e in $(EXPERIMENTS); do $(MAKE) --no-print-directory EXP=$$e || exit 1; done

test:
	tests/run.sh

clean:
	rm -rf $(B)
