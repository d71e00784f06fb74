#!/bin/sh
# check-expanded.sh GENERATED TEMPORARY M4-INPUT: fails, naming GENERATED and
# the macro, when a macro that bzgen wrote at the head of a line of M4-INPUT
# is still in m4's output TEMPORARY (a template that forgot to define it:
# m4 copies an undefined name through as text).  TEMPORARY is removed then.
set -u
out=$1 tmp=$2 input=$3
for name in $(grep -o '^bz_[A-Za-z0-9_]*' "$input" | sort -u); do
    if grep -qw "$name" "$tmp"; then
        line=$(grep -nw "$name" "$tmp" | head -n 1 | cut -d: -f1)
        echo "$out:$line: error: macro $name (from $input) is not defined by the templates" >&2
        rm -f "$tmp"
        exit 1
    fi
done
