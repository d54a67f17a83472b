#!/bin/sh
# curl as a client of the adapter contract in --raw mode: a form body whose
# values curl URL-encodes, the key (when given) in the apiKey header.
url="$REGENKEY_BASE_URL/SMSApi/rest/regenerateAPIKey"
if [ -n "$REGENKEY_API_KEY" ]; then
  exec curl -sS -H "apiKey: $REGENKEY_API_KEY" --data-urlencode "format=$REGENKEY_FORMAT" "$url"
fi
exec curl -sS --data-urlencode "userId=$REGENKEY_USER_ID" \
  --data-urlencode "password=$REGENKEY_PASSWORD" \
  --data-urlencode "format=$REGENKEY_FORMAT" "$url"
