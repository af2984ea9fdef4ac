#!/usr/bin/env bash
# Builds the web client (web/ -> web/dist, served by the API at `/`) with the locked npm
# packages. Quick no-op when nothing changed: `npm ci` runs only when package-lock.json
# differs from what node_modules was installed from, and `npm run build` only when the
# sources' hash differs from the stamp of the last build (web/dist/.build-stamp). The
# API's Swagger UI (/docs) is served from web/dist/swagger-ui/ too.
#   bash ops/build-web.sh        # node_modules and dist up to date
#   bash ops/build-web.sh deps   # node_modules only (lint and unit tests)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/ops/install-web-tools.sh"
cd "$root/web"

lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -d node_modules ] || [ "$(cat node_modules/.lock-stamp 2>/dev/null)" != "$lock_hash" ]; then
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock_hash" > node_modules/.lock-stamp
fi
if [ "${1:-}" = "deps" ]; then
    exit 0
fi

sources_hash="$(
    find package.json package-lock.json index.html vite.config.ts tsconfig.json src public \
        -type f -not -name '*.test.ts' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
)"
if [ -f dist/index.html ] && [ "$(cat dist/.build-stamp 2>/dev/null)" = "$sources_hash" ]; then
    exit 0
fi
npm run build --silent -- --logLevel warn
# The API's /docs (Swagger UI) from the npm package, never from a CDN at run time.
mkdir -p dist/swagger-ui
cp node_modules/swagger-ui-dist/{swagger-ui-bundle.js,swagger-ui-standalone-preset.js,swagger-ui.css} \
    dist/swagger-ui/
echo "$sources_hash" > dist/.build-stamp
echo "web client built into web/dist"
