#!/usr/bin/env bash
# Fetches the published OHIF viewer 3.13.2 into .cache/ohif/3.13.2/dist. `npm install @ohif/app`
# fails on this registry (@ohif/i18n is missing), but the package tarball holds a complete built
# viewer in dist/: `npm pack` downloads just that tarball, checked against the registry's integrity.
# Safe to run again: it skips a complete copy.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=3.13.2
DEST=.cache/ohif/$VERSION
if [ -f "$DEST/dist/index.html" ] && [ -f "$DEST/.complete" ]; then exit 0; fi
echo "setup: fetching the OHIF viewer $VERSION (npm pack @ohif/app, ~48 MB)" >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "@ohif/app@$VERSION" >/dev/null)
mkdir -p "$tmp/x"
tar -xzf "$tmp"/ohif-app-"$VERSION".tgz -C "$tmp/x"
test -f "$tmp/x/package/dist/index.html" || { echo "fetch-ohif: the @ohif/app $VERSION tarball has no dist/index.html" >&2; exit 1; }
rm -rf "$DEST"
mkdir -p "$DEST"
mv "$tmp/x/package/dist" "$DEST/dist"
touch "$DEST/.complete"
