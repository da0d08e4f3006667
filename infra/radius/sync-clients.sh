#!/bin/sh
# Keeps FreeRADIUS's NAS list equal to the platform's (run every 30 s by a systemd timer on the
# edge): GET /v1/radius/clients?format=freeradius with the platform's RADIUS token; when it
# changed, the file is replaced and the container restarted (FreeRADIUS 3 reads clients at start;
# a NAS resends what it sent during the second it takes).
set -eu
. /etc/isp-radius/radius.env
curl -sf --max-time 20 -H "Authorization: Bearer $RADIUS_API_TOKEN" \
  "$RADIUS_API_URL/v1/radius/clients?format=freeradius" -o /run/isp-radius-clients.new
if ! cmp -s /run/isp-radius-clients.new /etc/isp-radius/clients.conf; then
  install -m 600 /run/isp-radius-clients.new /etc/isp-radius/clients.conf
  docker restart isp-radius >/dev/null
fi
