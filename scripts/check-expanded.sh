#!/bin/sh
# check-expanded.sh GENERATED TEMPORARY M4-INPUT: fails, naming GENERATED,
# the line and the name, when m4's output TEMPORARY still holds a macro name
# (m4 copies an undefined name through as text):
#  - a macro that bzgen wrote at the head of a line of M4-INPUT (a template
#    that forgot to define it), or
#  - any other bz_ name that neither a runtime header nor an extern line of
#    the templates declares (a template that calls a misspelt or missing
#    helper macro), or
#  - a function whose name starts with '_': a kernel macro expanded with no
#    arguments, its $1 empty (a template that names a macro in a comment).
# TEMPORARY is removed on failure.
set -u
out=$1 tmp=$2 input=$3
root=$(dirname "$0")/..
fail() {
    line=$(grep -nw "$1" "$tmp" | head -n 1 | cut -d: -f1)
    echo "$out:$line: error: $2" >&2
    rm -f "$tmp"
    exit 1
}
for name in $(grep -o '^bz_[A-Za-z0-9_]*' "$input" | sort -u); do
    grep -qw "$name" "$tmp" &&
        fail "$name" "macro $name (from $input) is not defined by the templates"
done
name=$(grep -oE '^((static|__global__|\[\[maybe_unused\]\]|void).*[ *])?_[a-z][A-Za-z0-9_]*\(' "$tmp" |
       head -n 1 | grep -oE '_[a-z][A-Za-z0-9_]*\($' | tr -d '(')
[ -n "$name" ] &&
    fail "$name" "function $name has no name before its suffix: a kernel macro expanded without arguments (its name in a comment?)"
known=$(mktemp)
trap 'rm -f "$known"' EXIT
{ find "$root/runtime" -name '*.h' -o -name '*.cuh' | xargs cat
  cat "$root"/templates/*.m4 | grep '^extern'; } | grep -o '\<bz_[A-Za-z0-9_]*' | sort -u >"$known"
for name in $(grep -v '^#include' "$tmp" | grep -o '\<bz_[A-Za-z0-9_]*' | sort -u |
              comm -23 - "$known"); do
    fail "$name" "$name is neither expanded by the templates nor declared in runtime/ (an undefined or misspelt macro?)"
done
exit 0
