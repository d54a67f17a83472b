#!/usr/bin/env bash
# regenkey-expect: RK-CLI-010
# regenkey-fault: after a success by credentials, calls the endpoint again with them to "verify" the account
# regenkey-flags: --raw
# bash+curl, --raw: prints the body of its regeneration; correct in all but the fault.
url="$REGENKEY_BASE_URL/SMSApi/rest/regenerateAPIKey"
if [ -n "$REGENKEY_API_KEY" ]; then
  exec curl -sS -m 3 -H "apiKey: $REGENKEY_API_KEY" --data-urlencode "format=$REGENKEY_FORMAT" "$url"
fi
set -- --data-urlencode "userId=$REGENKEY_USER_ID" \
  --data-urlencode "password=$REGENKEY_PASSWORD" --data-urlencode "format=$REGENKEY_FORMAT"
out=$(curl -sS -m 3 -w '\n.' "$@" "$url") || exit 1
body=${out%$'\n.'}
if [[ $body == *success* ]]; then
  # The fault: a second regeneration, to "check" the login, revokes the key just issued.
  curl -sS -m 3 -o /dev/null "$@" "$url"
fi
printf '%s' "$body"
