#!/usr/bin/env bash
# Installs what builds and runs the OCI image, from Debian's packages, when missing:
# buildah (builds the Containerfile), podman (runs the image in tests/image/) and
# debootstrap (makes the base root filesystem: no container registry is reachable here).
#   bash ops/image/install-tools.sh
set -euo pipefail

missing=()
for tool in buildah podman debootstrap runc; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
apt_get="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/apt-get.sh"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO bash "$apt_get" update
# Without recommends (fuse-overlayfs, slirp4netns, dbus-user-session): we run as root
# with the vfs storage driver, chroot isolation and the host's network. runc runs
# `podman run` (ops/image/containers.conf says why not crun); catatonit is its `--init`.
$SUDO bash "$apt_get" install -y --no-install-recommends "${missing[@]}" catatonit
for tool in "${missing[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || { echo "$tool still missing after install" >&2; exit 1; }
done
