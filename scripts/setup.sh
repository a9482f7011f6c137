#!/usr/bin/env bash
# Installs the system packages (OpenBLAS, ncursesw, tmux for the end-to-end test) and fetches
# the default model. Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(libopenblas-dev libncursesw5-dev tmux)
if ! dpkg -s "${packages[@]}" >/dev/null 2>&1; then
  sudo=""
  [[ "$(id -u)" != 0 ]] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -q
  $sudo apt-get install -y -q "${packages[@]}"
fi
bash models/fetch.sh
