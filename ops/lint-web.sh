#!/usr/bin/env bash
# Front-end checks of `just lint`: TypeScript types (tsc --noEmit), then Biome's lint
# and formatting of web/src.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/ops/build-web.sh" deps
cd "$root/web"
npx --no-install tsc --noEmit
npx --no-install biome check src vite.config.ts
