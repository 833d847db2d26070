#!/usr/bin/env bash
# Regenerates docs/answer-key-preview.png, README's picture of the first page of a shipped
# answer key: builds the sheet with derive, then renders page 1 with pdftoppm (poppler-utils).
set -euo pipefail
cd "$(dirname "$0")/.."
problem="${1:-problems/sgd-tanh-hidden.yaml}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
derive sheet "$problem" -o "$out" >/dev/null
mkdir -p docs
pdftoppm -png -r 80 -f 1 -l 1 -singlefile "$out/answers.pdf" docs/answer-key-preview
echo "written: docs/answer-key-preview.png"
