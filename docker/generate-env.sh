#!/usr/bin/env bash
# Writes .env for docker-compose.yml from .env.example with every secret generated at random:
# the Fernet key, the JWT secret, the API server's secret key, the pseudonym key and every
# password. Compose refuses to start while any of them is empty (`${VAR:?...}`).
#   docker/generate-env.sh            # writes ./.env
#   docker/generate-env.sh path/.env  # elsewhere
# It never overwrites an existing file: a new Fernet key makes the stored connections unreadable,
# a new pseudonym key splits every citizen's history. Needs only bash and openssl.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
example="$here/.env.example"
target="${1:-$here/.env}"
if [ -e "$target" ]; then
  echo "generate-env: $target exists; refusing to overwrite its secrets (delete it first to start over)" >&2
  exit 1
fi

secret() {  # the value of one generated variable; URL-safe (it goes into connection URLs)
  case "$1" in
    AIRFLOW_FERNET_KEY) openssl rand -base64 32 | tr '+/' '-_' ;;  # urlsafe base64 of 32 bytes
    *) openssl rand -hex 32 ;;
  esac
}

umask 077
tmp="$(mktemp "$target.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
while IFS= read -r line || [ -n "$line" ]; do
  name="${line%%=*}"
  if [[ "$line" =~ ^[A-Z0-9_]+=$ ]] && [[ "$name" =~ (PASSWORD|SECRET|_KEY)$ ]]; then
    printf '%s=%s\n' "$name" "$(secret "$name")"
  else
    printf '%s\n' "$line"
  fi
done < "$example" > "$tmp"
mv "$tmp" "$target"
trap - EXIT
echo "generate-env: wrote $target (mode 600); keep it, and back up AIRFLOW_FERNET_KEY and PSEUDONYM_KEY" >&2
