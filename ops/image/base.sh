#!/usr/bin/env bash
# Makes the image's base, `localhost/avataradam-base:bookworm-slim`, when it is missing: a
# Debian bookworm root filesystem from debootstrap (variant minbase: dpkg, apt and the
# essential packages; no registry is reachable here, so no `FROM debian:bookworm-slim`),
# slimmed as Debian's own slim images are (no manuals, docs or translations, now or in
# later `apt-get install`s), then imported into buildah's storage. The Containerfile
# starts both its stages from it (build arg BASE_IMAGE; a registry's
# `docker.io/library/debian:bookworm-slim` is a drop-in where one is reachable).
#   bash ops/image/base.sh          # build once, then a no-op
#   bash ops/image/base.sh --force  # rebuild (a newer point release, security updates)
# The Debian mirror is AVATARADAM_DEBIAN_MIRROR, else the first Debian URI of this
# machine's apt sources, else http://deb.debian.org/debian.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=ops/image/env.sh
source "$root/ops/image/env.sh"
suite=bookworm

if [ "${1:-}" != "--force" ] && buildah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
    exit 0
fi
bash "$root/ops/image/install-tools.sh"

mirror_from_apt_sources() {
    local uri
    uri="$(
        grep -hs -E '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list \
            | grep -o -E 'https?://[^ ]*/debian/?$|https?://[^ ]*/debian ' | head -n 1 | tr -d ' '
    )" || true
    echo "${uri:-http://deb.debian.org/debian}"
}
mirror="${AVATARADAM_DEBIAN_MIRROR:-$(mirror_from_apt_sources)}"
mirror="${mirror%/}"
security="${mirror%/debian}/debian-security"

work="$(mktemp -d "${TMPDIR:-/tmp}/avataradam-base.XXXXXX")"
trap 'rm -rf "$work"' EXIT
rootfs="$work/rootfs"
echo "debootstrap $suite from $mirror"
debootstrap --variant=minbase --merged-usr "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }

# What Debian's slim images leave out (debuerreotype's --slimify list), for every later
# `apt-get install` too.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/man/*
SLIM
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'CLEAN'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::GzipIndexes "true";
Acquire::Languages "none";
APT::Install-Recommends "false";
CLEAN
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
rm -f "$rootfs/etc/apt/sources.list"
# The files the exclusions above would not have installed, and what debootstrap leaves.
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/{man,info,groff,lintian,linda}/* "$rootfs"/var/lib/apt/lists/* \
    "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/log/* \
    "$rootfs"/debootstrap
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
: >"$rootfs/etc/machine-id"
echo "$suite-slim" >"$rootfs/etc/hostname"

# Import: a scratch container with the tree copied in, committed as the base image.
container="$(buildah from scratch)"
trap 'buildah rm "$container" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
tar -C "$rootfs" --numeric-owner -cf "$work/rootfs.tar" .
buildah add --quiet "$container" "$work/rootfs.tar" / >/dev/null
buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd bash --label "org.opencontainers.image.description=Debian $suite (debootstrap minbase, slim)" \
    "$container"
buildah commit --quiet --rm "$container" "$BASE_IMAGE" >/dev/null
trap 'rm -rf "$work"' EXIT
echo "base image $BASE_IMAGE: $(buildah inspect --type image --format '{{.FromImageID}}' "$BASE_IMAGE" 2>/dev/null | cut -c1-12)"
