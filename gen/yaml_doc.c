#include "yaml_doc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static src_pos mark_pos(const char *path, yaml_mark_t m)
{
    src_pos p = {path, (int)m.line + 1, (int)m.column + 1};
    return p;
}

static void report_parser_error(const char *path, yaml_parser_t *parser)
{
    src_pos at = mark_pos(path, parser->problem_mark);
    if (parser->context)
        diag_error(at, "YAML syntax: %s %s", parser->problem, parser->context);
    diag_error(at, "YAML syntax: %s", parser->problem ? parser->problem : "malformed document");
}

static uint64_t inputs_hash = 14695981039346656037ull;

uint64_t fnv1a64(uint64_t hash, const void *bytes, size_t n)
{
    const unsigned char *b = bytes;
    for (size_t i = 0; i < n; i++)
        hash = (hash ^ b[i]) * 1099511628211ull;
    return hash;
}

uint64_t ydoc_inputs_hash(void) { return inputs_hash; }

/* every file loaded, by device and inode */
static struct {
    dev_t dev;
    ino_t ino;
    char *path;
} *inputs;
static int n_inputs;

static void remember_input(FILE *fp, const char *path)
{
    struct stat st;
    if (fstat(fileno(fp), &st) != 0)
        return;
    inputs = xrealloc(inputs, (size_t)(n_inputs + 1) * sizeof *inputs);
    inputs[n_inputs].dev = st.st_dev;
    inputs[n_inputs].ino = st.st_ino;
    inputs[n_inputs++].path = xstrdup(path);
}

const char *ydoc_input_at(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return NULL;
    for (int i = 0; i < n_inputs; i++)
        if (inputs[i].dev == st.st_dev && inputs[i].ino == st.st_ino)
            return inputs[i].path;
    return NULL;
}

/* The whole file (a pipe too), NUL-terminated; *n its length. */
static unsigned char *read_all(FILE *fp, size_t *n)
{
    size_t cap = 1 << 16;
    unsigned char *buf = xmalloc(cap);
    *n = 0;
    for (size_t got; (got = fread(buf + *n, 1, cap - *n - 1, fp)) > 0;) {
        *n += got;
        if (cap - *n < 2)
            buf = xrealloc(buf, cap *= 2);
    }
    buf[*n] = '\0';
    return buf;
}

ydoc *ydoc_load(const char *path)
{
    FILE *fp = fopen(path, "rb");
    src_pos whole = {path, 0, 0};
    if (!fp)
        diag_error(whole, "cannot open: %s", strerror(errno));
    remember_input(fp, path);
    size_t n;
    unsigned char *text = read_all(fp, &n);
    if (ferror(fp))
        diag_error(whole, "cannot read: %s", strerror(errno));
    fclose(fp);
    inputs_hash = fnv1a64(inputs_hash, text, n);
    ydoc *d = xcalloc(1, sizeof *d);
    d->path = xstrdup(path);
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, text, n);
    if (!yaml_parser_load(&parser, &d->doc))
        report_parser_error(path, &parser);
    yaml_parser_delete(&parser);
    free(text);
    yaml_node_t *root = yaml_document_get_root_node(&d->doc);
    if (!root)
        diag_error(whole, "empty document");
    if (root->type != YAML_MAPPING_NODE)
        diag_error(mark_pos(path, root->start_mark), "top level must be a mapping");
    return d;
}

ynode ydoc_root(ydoc *d)
{
    ynode n = {d, yaml_document_get_root_node(&d->doc)};
    return n;
}

src_pos ynode_pos(ynode n)
{
    if (!n.node) {
        src_pos p = {n.d->path, 0, 0};
        return p;
    }
    return mark_pos(n.d->path, n.node->start_mark);
}

src_pos ynode_text_pos(ynode n)
{
    src_pos p = ynode_pos(n);
    if (n.node && n.node->type == YAML_SCALAR_NODE &&
        (n.node->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
         n.node->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE))
        p.column++;
    return p;
}

int ynode_present(ynode n) { return n.node != NULL; }
int ynode_is_scalar(ynode n) { return n.node && n.node->type == YAML_SCALAR_NODE; }
int ynode_is_mapping(ynode n) { return n.node && n.node->type == YAML_MAPPING_NODE; }
int ynode_is_sequence(ynode n) { return n.node && n.node->type == YAML_SEQUENCE_NODE; }

static ynode node_at(ydoc *d, int index)
{
    ynode n = {d, yaml_document_get_node(&d->doc, index)};
    return n;
}

int ymap_size(ynode map)
{
    return (int)(map.node->data.mapping.pairs.top - map.node->data.mapping.pairs.start);
}

ynode ymap_key_at(ynode map, int i)
{
    return node_at(map.d, map.node->data.mapping.pairs.start[i].key);
}

ynode ymap_value_at(ynode map, int i)
{
    return node_at(map.d, map.node->data.mapping.pairs.start[i].value);
}

/* A scalar's text; a "\0" escape inside it would silently cut it short
 * for every C string function, so it is refused. */
static const char *scalar_text(ynode n)
{
    const char *text = (const char *)n.node->data.scalar.value;
    if (strlen(text) != n.node->data.scalar.length)
        diag_error(ynode_text_pos(n), "a NUL character inside a string");
    return text;
}

ynode ymap_get(ynode map, const char *key)
{
    for (int i = 0; i < ymap_size(map); i++) {
        ynode k = ymap_key_at(map, i);
        if (ynode_is_scalar(k) && strcmp(scalar_text(k), key) == 0)
            return ymap_value_at(map, i);
    }
    ynode none = {map.d, NULL};
    return none;
}

static int key_allowed(const char *key, const char *const *allowed)
{
    for (; *allowed; allowed++)
        if (strcmp(*allowed, key) == 0)
            return 1;
    return 0;
}

void ymap_check_keys(ynode map, const char *what, const char *const *allowed)
{
    if (!ynode_is_mapping(map))
        diag_error(ynode_pos(map), "%s must be a mapping", what);
    for (int i = 0; i < ymap_size(map); i++) {
        ynode k = ymap_key_at(map, i);
        if (!ynode_is_scalar(k))
            diag_error(ynode_pos(k), "%s: keys must be plain names", what);
        const char *key = scalar_text(k);
        if (!key_allowed(key, allowed))
            diag_error(ynode_pos(k), "unknown key '%s' in %s", key, what);
        for (int j = 0; j < i; j++)
            if (strcmp(scalar_text(ymap_key_at(map, j)), key) == 0)
                diag_error(ynode_pos(k), "duplicate key '%s' in %s", key, what);
    }
}

int yseq_size(ynode seq)
{
    return (int)(seq.node->data.sequence.items.top - seq.node->data.sequence.items.start);
}

ynode yseq_at(ynode seq, int i)
{
    return node_at(seq.d, seq.node->data.sequence.items.start[i]);
}

const char *yscalar(ynode n, const char *what)
{
    if (!ynode_is_scalar(n))
        diag_error(ynode_pos(n), "%s must be a scalar", what);
    return scalar_text(n);
}

long yint(ynode n, const char *what, long lo, long hi)
{
    const char *s = yscalar(n, what);
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno)
        diag_error(ynode_pos(n), "%s must be an integer, got '%s'", what, s);
    if (v < lo || v > hi)
        diag_error(ynode_pos(n), "%s must be in [%ld, %ld], got %ld", what, lo, hi, v);
    return v;
}

double ynumber(ynode n, const char *what, double lo, double hi)
{
    const char *s = yscalar(n, what);
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno || !isfinite(v) || v < lo || v > hi)
        diag_error(ynode_pos(n), "%s must be a number in [%g, %g], got '%s'", what, lo, hi, s);
    return v;
}

int ybool(ynode n, const char *what)
{
    const char *s = yscalar(n, what);
    if (strcmp(s, "true") == 0)
        return 1;
    if (strcmp(s, "false") == 0)
        return 0;
    diag_error(ynode_pos(n), "%s must be true or false, got '%s'", what, s);
}

const char *yident(ynode n, const char *what)
{
    const char *s = yscalar(n, what);
    int ok = (s[0] == '_' || (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'));
    for (const char *p = s; ok && *p; p++)
        ok = *p == '_' || (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
    if (!ok)
        diag_error(ynode_pos(n), "%s must be an identifier ([A-Za-z_][A-Za-z0-9_]*), got '%s'", what, s);
    return s;
}
