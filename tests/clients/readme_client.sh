#!/bin/sh
# regenkey check-client --raw --command "sh tests/clients/readme_client.sh"
url="$REGENKEY_BASE_URL/SMSApi/rest/regenerateAPIKey"
if [ -n "$REGENKEY_API_KEY" ]; then
  set -- -H "apiKey: $REGENKEY_API_KEY"  # the key travels in a header, never in the URL
else  # --data-urlencode: values with & = + % or spaces arrive intact
  set -- --data-urlencode "userId=$REGENKEY_USER_ID" \
    --data-urlencode "password=$REGENKEY_PASSWORD"
fi
# -m: give up on a stalled answer. No -L: credentials never follow a redirect.
# No --retry: a second regeneration revokes the key the first one issued.
exec curl -sS -m "${REGENKEY_CLIENT_TIMEOUT:-10}" "$@" --data-urlencode "format=$REGENKEY_FORMAT" "$url"
