#!/usr/bin/env bash
# Card-balance API under load against a bare one-row Django view, same server, same run.
# From the project root:  bench/api_balance.sh [--sqlite] [--server granian] [--admin-url …] [--help]
# See bench/api_balance.py for what it does and prints.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python bench/api_balance.py "$@"
