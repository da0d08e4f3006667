#!/usr/bin/env bash
# Vendors the Redoc API reference renderer that `GET /docs` serves (never loaded from the internet
# at run time): the pinned npm package, checked against the registry's integrity hash, its
# standalone bundle and licence copied into functions/api-openapi/vendor/. Run it to move the pin.
set -euo pipefail
VERSION=3.0.1
INTEGRITY=sha512-KDfoKaYW19LCl4YStgBnwlaNjYEFfs5zCNt1s1WZ2YM5u8d26Yuzd2l43fZO851ZsgIMe/D640fDJkD8eaRQKQ==
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/functions/api-openapi/vendor"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
curl -fsSL -o "$TMP/redoc.tgz" "https://registry.npmjs.org/redoc/-/redoc-$VERSION.tgz"
GOT="sha512-$(openssl dgst -sha512 -binary "$TMP/redoc.tgz" | base64 -w0)"
if [ "$GOT" != "$INTEGRITY" ]; then
  echo "redoc-$VERSION.tgz: integrity $GOT, expected $INTEGRITY" >&2
  exit 1
fi
tar -xzf "$TMP/redoc.tgz" -C "$TMP"
mkdir -p "$OUT"
cp "$TMP/package/bundles/redoc.standalone.js" "$OUT/redoc.standalone.js"
cp "$TMP/package/LICENSE" "$OUT/REDOC-LICENSE"
echo "$VERSION" > "$OUT/REDOC-VERSION"
echo "vendored Redoc $VERSION into $OUT"
