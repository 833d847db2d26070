#!/usr/bin/env bash
# The main job on a fresh machine: install derive and solve a shipped problem, writing the
# verified answer key to output/.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet -e .
problem="${1:-problems/sgd-tanh-hidden.yaml}"
name="$(basename "$problem" .yaml)"
mkdir -p "output/$name"
derive solve "$problem" --json "output/$name/answer-key.json"
