#!/bin/sh
# op_saves.sh: prints, from bzgen's operator table, what each operator's
# backward reads as m4 definitions for tests/ops/cases.m4 (bz_saves_relu is
# y, bz_saves_gelu x, ...).  Run from the repository root.
[ -x build/bzgen ] || make -s build/bzgen >/dev/null 2>&1 || exit 1
build/bzgen --list-operators |
    awk '{ print "m4_define([<bz_saves_" $1 ">], [<" $3 ">])m4_dnl" }'
