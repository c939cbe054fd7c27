#!/bin/sh
# The main job of `make demo`: what the build can do so far, run on files the
# project ships. Argument: the build folder.
set -eu
build=${1:-build}
"$build/tunegan" --version
"$build/tunegan" --help
