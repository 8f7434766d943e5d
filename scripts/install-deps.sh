#!/usr/bin/env bash
# Installs the Debian packages MemoryLab's tests use on a fresh machine (run as root).
# The library itself needs only the .NET SDK.
set -euo pipefail
need=()
# (packages are added here as features that need them land)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
