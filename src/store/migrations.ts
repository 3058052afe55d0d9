// Schema migrations, applied in order by PRAGMA user_version. Append only:
// a released migration is never edited, so a database always knows its shape.
import type { Database } from 'better-sqlite3';

export type Migration = (db: Database) => void;

export const MIGRATIONS: Migration[] = [
  // 1: sessions, messages, usage, key-value state.
  (db) => {
    db.exec(`
      CREATE TABLE sessions (
        session_key TEXT PRIMARY KEY,
        agent_id    TEXT NOT NULL,
        dialog      TEXT NOT NULL,
        chat        TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        summary     TEXT,
        -- id of the last message folded into summary (0: none)
        summary_through INTEGER NOT NULL DEFAULT 0
      ) STRICT;

      CREATE TABLE messages (
        id          INTEGER PRIMARY KEY,
        session_key TEXT NOT NULL REFERENCES sessions(session_key) ON DELETE CASCADE,
        role        TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
        content     TEXT NOT NULL,
        -- assistant: JSON array of {id, name, arguments}; tool: JSON {tool_call_id, name, is_error}
        tool_data   TEXT,
        created_at  INTEGER NOT NULL,
        tokens      INTEGER NOT NULL DEFAULT 0,
        -- 1 once folded into the session summary (compaction mode "mark")
        compacted   INTEGER NOT NULL DEFAULT 0,
        meta        TEXT
      ) STRICT;
      -- The history window reads the newest rows of one session.
      CREATE INDEX messages_by_session ON messages(session_key, compacted, id);
      CREATE INDEX messages_by_time ON messages(created_at);

      CREATE TABLE usage (
        day           TEXT NOT NULL,
        session_key   TEXT NOT NULL,
        model         TEXT NOT NULL,
        user_id       TEXT NOT NULL DEFAULT '',
        input_tokens  INTEGER NOT NULL DEFAULT 0,
        output_tokens INTEGER NOT NULL DEFAULT 0,
        cost_usd      REAL NOT NULL DEFAULT 0,
        requests      INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (day, session_key, model, user_id)
      ) STRICT;
      CREATE INDEX usage_by_user ON usage(user_id, day);

      CREATE TABLE kv (
        key        TEXT PRIMARY KEY,
        value      TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      ) STRICT;
    `);
  },
];
