#!/usr/bin/env bash
# The main job on the embedded default: a local Orthanc on 127.0.0.1 with the sample head CT in
# it, then the OHIF viewer with the "Sparse annotation" mode served on 127.0.0.1 (Ctrl-C stops
# the viewer; Orthanc keeps running until `pnpm tomosort pacs down`).
set -euo pipefail
cd "$(dirname "$0")/.."
t() { pnpm --silent tomosort "$@"; }

t pacs up
t import sample:cranium
t ls
echo
t viewer --port "${TOMOSORT_VIEWER_PORT:-3000}"
