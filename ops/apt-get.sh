#!/usr/bin/env bash
# apt-get for the project's install scripts: one at a time. Two setups at once (a `just
# run` beside a CI run) otherwise race for dpkg's lock and one fails "Could not get lock".
# Our own calls queue on a flock; anyone else's (unattended-upgrades) on dpkg's lock.
set -euo pipefail
exec flock -w 900 /tmp/avataradam-apt.lock \
    env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 "$@"
