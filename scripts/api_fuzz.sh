#!/usr/bin/env bash
# A bounded schemathesis run over the API's own OpenAPI document, against a real
# `fallwatch serve` (SQLite, one disabled camera) with an admin API token, so every
# authenticated route is exercised. Fails (exit 1) on any server error (5xx) or any answer
# the document does not describe (status code, content type, body schema).
#
#   scripts/api_fuzz.sh              # from the repository root; needs the dev extra
#   API_FUZZ_EXAMPLES=50 scripts/api_fuzz.sh
#   API_FUZZ_ONLY="--include-path /api/cameras --checks positive_data_acceptance --mode positive" \
#     scripts/api_fuzz.sh   # one question, one run
set -euo pipefail
cd "$(dirname "$0")/.."
py="${PYTHON:-.venv/bin/python}"
PY="$(cd "$(dirname "$py")" && pwd)/$(basename "$py")"  # absolute, links kept (venv)
ST="$(dirname "$PY")/schemathesis"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
EXAMPLES="${API_FUZZ_EXAMPLES:-20}"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -INT "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port="$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cat >"$work/fallwatch.yaml" <<YAML
data_dir: $work/data
web: {port: $port}
cameras:
  - {id: lobby, name: Lobby, url: "rtsp://viewer:secret@127.0.0.1:9/s1", enabled: false}
YAML
export FALLWATCH_ADMIN_USER=admin FALLWATCH_ADMIN_PASSWORD=admin-password-fuzz
token="$("$PY" -m fallwatch.cli token create api-fuzz --role admin --config "$work/fallwatch.yaml")"

"$PY" -m fallwatch.cli serve --config "$work/fallwatch.yaml" >"$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 150); do
  "$PY" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" \
    >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
  sleep 0.2
done

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
common=(
  "http://127.0.0.1:$port/api/openapi.json"
  --header "Authorization: Bearer $token"
  --checks "$checks"
  --max-examples "$EXAMPLES"
  --seed 11
  --workers 1
  --request-timeout 10
  --generation-database none
  --suppress-health-check all
  --no-color
  # The live streams never end: they are tested over real sockets in tests/web.
  --exclude-path-regex '(live\.mjpg|/api/stream)$'
)
rc=0
if [ -n "${API_FUZZ_ONLY:-}" ]; then
  # shellcheck disable=SC2086  # the options are words
  (cd "$work" && "$ST" run "${common[@]}" $API_FUZZ_ONLY) || rc=$?
  exit "$rc"
fi
cd "$work"  # schemathesis keeps state in ./.schemathesis: not in the repository
# Revoking tokens comes last, on its own: a run that revoked the fuzzer's own token early
# would test little else.
"$ST" run "${common[@]}" --exclude-operation-id revoke_token_api_tokens__token_id__delete || rc=$?
"$ST" run "${common[@]}" --include-operation-id revoke_token_api_tokens__token_id__delete || rc=$?
if grep -q "Traceback" "$work/serve.log"; then
  echo "api_fuzz: the server logged a traceback:" >&2
  grep -A30 "Traceback" "$work/serve.log" | head -60 >&2
  rc=1
fi
exit "$rc"
