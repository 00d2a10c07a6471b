#!/usr/bin/env bash
# Installs everything tomosort needs on a fresh Debian 12 machine with Node 20 and npm:
# Debian packages (Orthanc + DICOMweb, the sample head CT and brain MR, test fixtures, g++ and oneDNN), pnpm,
# the workspace's npm dependencies from the lockfile, and builds the native kernels' addon from
# source. Safe to run again: it skips what is there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  orthanc              # the PACS tests and the demo talk to
  orthanc-dicomweb     # its DICOMweb plugin (QIDO/WADO/STOW)
  invesalius-examples  # Cranium.inv3: the real head CT behind sample:cranium (GPL-2, read at run time)
  mricron-data         # Colin27 brain MR (ch2, ch2better) + AAL atlas behind sample:colin27 (read at run time)
  python3-pydicom      # real DICOM files in several encodings, used as test fixtures
  dicom3tools          # dciodvfy: the tests check the SEGs and series tomosort writes against the standard
  chromium             # headless browser tests; its SwiftShader Vulkan ICD gives WebGPU without a GPU
  libvulkan1           # the Vulkan loader Dawn (npm webgpu) needs for WebGPU in Node
  fonts-dejavu-core    # the font the experiment's PNG plots are drawn with
  build-essential      # g++ and make for the native kernels' Node-API addon
  libdnnl-dev          # oneDNN 2.6, the library the native kernels are built on
  redis-server         # Redis 7: the job queue (BullMQ) behind `tomosort worker` and `--queue`; the tests start their own
)
PNPM_VERSION=10.34.9

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v pnpm >/dev/null 2>&1 || [ "$(pnpm --version)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION" >&2
  npm install -g --silent "pnpm@$PNPM_VERSION" >/dev/null
fi

pnpm install --frozen-lockfile --reporter=append-only >&2

# The native CPU kernels (packages/native: a Node-API addon over oneDNN, built here with g++).
# Without them every command still runs, on wasm, and says why.
if ! pnpm --filter @tomosort/native run build >&2; then
  echo "setup: WARNING: the native kernels did not build; training and prediction will run on wasm (much slower)" >&2
fi

# The published OHIF viewer (its built dist/), served by `tomosort viewer`.
./scripts/fetch-ohif.sh
