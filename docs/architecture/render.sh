#!/usr/bin/env bash
# Renders the architecture pictures from their text sources (Graphviz's dot:
# `apt-get install graphviz`). Run after editing a .dot file, and commit both.
set -euo pipefail
cd "$(dirname "$0")"
for source in *.dot; do
    dot -Tsvg "$source" -o "${source%.dot}.svg"
    echo "wrote ${source%.dot}.svg"
done
