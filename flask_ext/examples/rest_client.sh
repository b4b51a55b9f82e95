#!/bin/sh
# A REST API client in curl: open a case, post a message with an attachment,
# read the timeline. Usage: rest_client.sh BASE_URL API_KEY FILE
set -eu
BASE=$1
AUTH="Authorization: Bearer $2"

# Open a case; the answer is the case as JSON, its number among the fields.
NUMBER=$(curl -sS --fail-with-body -H "$AUTH" -H 'Content-Type: application/json' \
  -d '{"type": "lost", "subject": "Parcel not delivered", "shipment": "SHP-1"}' \
  "$BASE/cases" | python3 -c 'import json, sys; print(json.load(sys.stdin)["number"])')
echo "opened $NUMBER"

# Post a message with a file: multipart/form-data, one "attachments" part per file.
curl -sS --fail-with-body -H "$AUTH" \
  -F 'body=Please check the depot.' -F 'audience=partners' \
  -F "attachments=@$3;type=application/pdf" \
  "$BASE/cases/$NUMBER/messages" > /dev/null
echo "posted"

# The timeline as this key may see it.
curl -sS --fail-with-body -H "$AUTH" "$BASE/cases/$NUMBER/timeline"
