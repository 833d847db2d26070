#!/usr/bin/env bash
# The main job on a fresh machine: install derive (and TeX Live when missing), then solve a
# shipped problem and write its worksheet and answer key as LaTeX and PDF under output/.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet -e .
bash scripts/install-tex.sh
problem="${1:-problems/sgd-tanh-hidden.yaml}"
name="$(basename "$problem" .yaml)"
derive solve "$problem" --json "output/$name/answer-key.json" --quiet
derive sheet "$problem" -o "output/$name"
