#!/bin/sh
# The image's entry point: Docker secrets for ccmon's secret settings, then the command (`ccmon serve ...`).
# CCMON_<NAME>_FILE=/run/secrets/x sets CCMON_<NAME> to that file's content (its final newline dropped), so tokens
# and passwords stay out of the compose file and `docker inspect`. Only the secret settings are read this way:
# CCMON_TLS_CERT_FILE and its kin are paths already.
set -eu
for name in INGEST_TOKENS API_TOKENS SCRAPE_TOKENS CLICKHOUSE_URL HASH_SECRET OIDC_CLIENT_SECRET FORWARD_HEADERS; do
  eval "path=\${CCMON_${name}_FILE:-}"
  [ -n "$path" ] || continue
  if [ ! -r "$path" ]; then
    echo "ccmon-entrypoint: CCMON_${name}_FILE=$path is not a readable file (the container runs as uid $(id -u))" >&2
    exit 1
  fi
  value=$(cat "$path")
  export "CCMON_${name}=$value"
  unset "CCMON_${name}_FILE"
done
exec "$@"
