/* The whole network: stem, three stages, head (DESIGN section 2). */
#ifndef GEN_SCAFFOLD_H
#define GEN_SCAFFOLD_H

#include "graph.h"
#include "spec.h"

/* Builds the train-time graph; returns the BlockZoo registry name of the
 * block under test. */
const char *build_scaffold(graph *g, const experiment *e, const char *blocks_dir);

#endif
