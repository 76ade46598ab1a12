#!/usr/bin/env bash
# Installs what vvmp needs on a fresh Debian machine: system packages (libpcap
# for live capture, tcpdump, tmux and tshark for tests, clickhouse-server for the export tests, tcpreplay for the live bench) and npm packages.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
quiet=false
[ "${1:-}" = "--quiet" ] && quiet=true
say() { $quiet || echo "setup: $*"; }

need=()
[ -f /usr/include/pcap.h ] || [ -f /usr/include/pcap/pcap.h ] || need+=(libpcap-dev)
command -v tcpdump >/dev/null 2>&1 || need+=(tcpdump)
command -v tmux >/dev/null 2>&1 || need+=(tmux)
command -v tshark >/dev/null 2>&1 || need+=(tshark)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v tcpreplay >/dev/null 2>&1 || need+=(tcpreplay)  # bench/live.ts offers 20,000 pkt/s with it
# ClickHouse (Debian's clickhouse-server 18.16): the export tests start a two-shard cluster of it.
command -v clickhouse-server >/dev/null 2>&1 || need+=(clickhouse-server)
command -v clickhouse-client >/dev/null 2>&1 || need+=(clickhouse-client)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${need[*]} (apt-get)" >&2
    export DEBIAN_FRONTEND=noninteractive
    echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "setup: missing ${need[*]}; install them (apt-get install ${need[*]}) — tests that need them will say so" >&2
  fi
fi

# npm packages: reinstall when package-lock.json changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

# The command runs src/ compiled into dist/ (bin/compiled.mjs); build it now
# rather than in whichever commands the tests start first.
node --input-type=module -e "const { compiled } = await import('./bin/compiled.mjs'); if (!(await compiled('cli/main.ts'))) console.error('setup: could not build dist/ (the command will run the TypeScript through tsx)');"
