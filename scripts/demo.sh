#!/usr/bin/env bash
# The main job on the embedded default: a local Orthanc on 127.0.0.1, the sample head CT in
# it, and the pipeline as far as it exists today (import, list, read back into a volume).
set -euo pipefail
cd "$(dirname "$0")/.."
t() { pnpm --silent tomosort "$@"; }

t pacs up
t import sample:cranium
t ls
echo
echo "Orthanc keeps running at the URL above (stop it with: pnpm tomosort pacs down)."
