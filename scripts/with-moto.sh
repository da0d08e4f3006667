#!/usr/bin/env bash
# Runs a command with a private moto server (DynamoDB, SQS, EventBridge stand-in) on 127.0.0.1.
# The port is MOTO_PORT if set, otherwise a free one. moto is stopped again when the command ends,
# fails or is interrupted, so no port is left busy.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
venv="$here/.venv"
[[ -x "$venv/bin/moto_server" ]] || { echo "moto is not installed: run 'make venv'" >&2; exit 2; }

port=${MOTO_PORT:-$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}
mkdir -p "$here/.local"
log="$here/.local/moto-$port.log"
"$venv/bin/python" "$here/infra/moto_server.py" -H 127.0.0.1 -p "$port" >"$log" 2>&1 &
moto_pid=$!
cleanup() { kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

for _ in $(seq 1 100); do
  if "$venv/bin/python" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/')" 2>/dev/null; then
    break
  fi
  kill -0 "$moto_pid" 2>/dev/null || { echo "moto failed to start:"; cat "$log"; exit 1; } >&2
  sleep 0.1
done

export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-testing}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-testing}
export AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_DEFAULT_REGION=$AWS_REGION
echo "moto listening on $AWS_ENDPOINT_URL" >&2
"$@"
