#!/bin/sh
# The edge's usage report: every NAS's sessions from FreeRADIUS's session table (the `sessions`
# module, SQLite) to the API, one request per NAS (POST /v1/radius/usage), so the API takes one
# request and one cursor write per router and interval instead of one per Interim-Update.
# Run every interim interval (15 minutes) by a systemd timer on the edge, or by hand.
#
# A report holds every open session with its counters and those stopped since the last report
# (a session silent for three intervals has lost its Stop: it is closed here and reported
# stopped). A report the API did not take is sent again next time with newer counters: nothing
# is counted twice, nothing lost. Stopped rows are kept 3 days, so a NAS's late duplicate Stop
# finds its row and changes nothing.
set -eu
RADIUS_ENV=${RADIUS_ENV:-/etc/isp-radius/radius.env}
if [ -f "$RADIUS_ENV" ]; then . "$RADIUS_ENV"; fi
db=${RADIUS_SESSIONS_DB:-/var/lib/isp-radius/sessions.db}
[ -f "$db" ] || exit 0
now=$(date +%s)
stale=$((now - 3 * ${RADIUS_INTERIM_SECONDS:-900}))
q() { sqlite3 -bail -cmd ".timeout 10000" "$db" "$@"; }

q "UPDATE sessions SET stopped_at = updated_at WHERE stopped_at IS NULL AND updated_at < $stale;"
# The Stops this round reports: marked reported only once the API has them.
q "UPDATE sessions SET round = $now WHERE stopped_at IS NOT NULL AND reported = 0 AND round IS NULL;"
failed=0
for nas in $(q "SELECT DISTINCT nas FROM sessions;"); do
	case "$nas" in
	*[!0-9a-f/-]*) echo "post-usage: skipping NAS name $nas" >&2; continue ;;
	esac
	body=$(q "SELECT json_object('sessions', json_group_array(json_object(
		'session_id', session_id, 'username', username, 'up_bytes', up_bytes, 'down_bytes', down_bytes,
		'stopped', json(CASE WHEN stopped_at IS NULL THEN 'false' ELSE 'true' END))))
		FROM sessions WHERE nas = '$nas' AND reported = 0;")
	if printf '%s' "$body" | curl -sSf --max-time 30 -o /dev/null \
		-H "Authorization: Bearer $RADIUS_API_TOKEN" -H "X-Radius-Nas: $nas" \
		-H "Content-Type: application/json" --data-binary @- "$RADIUS_API_URL/v1/radius/usage"; then
		q "UPDATE sessions SET reported = 1 WHERE nas = '$nas' AND round IS NOT NULL AND round <= $now;"
	else
		echo "post-usage: the report of $nas was not taken; sent again next time" >&2
		failed=1
	fi
done
q "DELETE FROM sessions WHERE reported = 1 AND stopped_at < $((now - 3 * 86400));"
exit $failed
