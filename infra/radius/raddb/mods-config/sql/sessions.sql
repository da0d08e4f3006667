-- The edge's session table (rlm_sql, sqlite): every accounting packet lands here, and
-- post-usage.sh reports each NAS's rows to the API once per interval. Created when the file does
-- not exist yet.
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS sessions (
	-- The NAS: the client's shortname, <tenant id>/<router id>.
	nas TEXT NOT NULL,
	session_id TEXT NOT NULL,
	username TEXT NOT NULL,
	up_bytes INTEGER NOT NULL DEFAULT 0,
	down_bytes INTEGER NOT NULL DEFAULT 0,
	-- Unix seconds: the last packet, and the Stop (or when the edge gave up on the session).
	updated_at INTEGER NOT NULL,
	stopped_at INTEGER,
	-- The report round that claimed the row's Stop, and whether the API has it.
	round INTEGER,
	reported INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (nas, session_id)
);
