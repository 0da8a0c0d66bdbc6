#!/usr/bin/env bash
# Installs the Debian packages the test suite starts as real peers (InfluxDB, SNMP agents, flow
# exporters, tshark as the independent decoder) when any is missing. Needs root (or sudo) for apt-get;
# without it, prints the command to run and fails.
set -euo pipefail
PKGS=(influxdb influxdb-client victoria-metrics snmpd snmp snmpsim softflowd pmacct tshark nfdump nfdump-sflow prometheus chromium buildah podman runc debootstrap systemd nats-server faketime libfaketime chrony iproute2 curl)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages for the tests: ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then SUDO=(); elif command -v sudo >/dev/null; then SUDO=(sudo); else
  echo "not root and no sudo: run  apt-get install -y ${missing[*]}  as root" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
# Daemons must not start as services: the tests start their own on loopback high ports.
printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
"${SUDO[@]}" chmod +x /usr/sbin/policy-rc.d
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
"${SUDO[@]}" rm -f /usr/sbin/policy-rc.d
