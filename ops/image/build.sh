#!/usr/bin/env bash
# Builds the OCI image `localhost/avataradam:latest` (deploy/image/Containerfile) from
# this checkout: buildah, podman and debootstrap from Debian's packages when missing, the
# base root filesystem (ops/image/base.sh, once), the web client (ops/build-web.sh), then
# `buildah bud` with its layers cached, so that a rebuild after a source change redoes
# only the steps after it. Prints the build time and the image's size.
#   bash ops/image/build.sh                       # `just image`
#   AVATARADAM_IMAGE_EMBEDDERS="e5 minilm" bash ops/image/build.sh   # all-MiniLM-L6-v2 too
#   AVATARADAM_IMAGE=registry.example/avataradam:1.2 bash ops/image/build.sh
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
# shellcheck source=ops/image/env.sh
source ops/image/env.sh
embedders="${AVATARADAM_IMAGE_EMBEDDERS:-e5}"
ca_bundle="${SSL_CERT_FILE:-${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}}"
wheels="${PIP_FIND_LINKS:-/opt/wheels}"

bash ops/image/install-tools.sh
bash ops/image/base.sh
bash ops/build-web.sh

volumes=()
if [[ " $embedders " == *" minilm "* ]]; then
    # torch's CPU wheel is on this disk only (find-links), never taken from PyPI.
    volumes=(--volume "$wheels:/opt/wheels:ro")
fi
started=$(date +%s)
buildah bud --format docker --layers --isolation chroot --network host \
    --file deploy/image/Containerfile \
    --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "EMBEDDERS=$embedders" \
    --secret "id=ca-bundle,src=$ca_bundle" \
    "${volumes[@]}" \
    --tag "$IMAGE" .
seconds=$(($(date +%s) - started))
size="$(podman image inspect --format '{{.Size}}' "$IMAGE")"
echo "built $IMAGE in ${seconds} s: $((size / 1000000)) MB ($embedders)"
