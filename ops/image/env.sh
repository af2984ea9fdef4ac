# Sourced by ops/image/*.sh and tests/image/: how this project calls buildah and podman.
# Root, the vfs storage driver (plain copies: no overlay mount needed) in the default
# store, chroot isolation for `RUN` steps, and ops/image/containers.conf (what this
# machine lets a container have). `source ops/image/env.sh` before using `podman` or
# `buildah` by hand on the images these scripts make.
export STORAGE_DRIVER=vfs
export BUILDAH_ISOLATION=chroot
BASE_IMAGE="${AVATARADAM_BASE_IMAGE:-localhost/avataradam-base:bookworm-slim}"
IMAGE="${AVATARADAM_IMAGE:-localhost/avataradam:latest}"
export CONTAINERS_CONF="${CONTAINERS_CONF:-$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/containers.conf}"
