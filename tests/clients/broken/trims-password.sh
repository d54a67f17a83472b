#!/usr/bin/env bash
# regenkey-expect: RK-PARAM-003
# regenkey-fault: the userId and password are trimmed of leading and trailing spaces, then encoded
# regenkey-flags: --raw
# bash+curl, --raw: prints the body it got. Correct in all else (a timeout, no retry).
url="$REGENKEY_BASE_URL/SMSApi/rest/regenerateAPIKey"
trim() { local v=$1; v=${v#"${v%%[! ]*}"}; printf '%s' "${v%"${v##*[! ]}"}"; }
if [ -n "$REGENKEY_API_KEY" ]; then
  exec curl -sS -m 3 -H "apiKey: $REGENKEY_API_KEY" --data-urlencode "format=$REGENKEY_FORMAT" "$url"
fi
exec curl -sS -m 3 --data-urlencode "userId=$(trim "$REGENKEY_USER_ID")" \
  --data-urlencode "password=$(trim "$REGENKEY_PASSWORD")" \
  --data-urlencode "format=$REGENKEY_FORMAT" "$url"
