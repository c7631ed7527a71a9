import GRDB

/// The state's tables, versioned. SQLite's migrations are GRDB's (`grdb_migrations` records them, as it always
/// has); PostgreSQL's are the same tables in its types, recorded in `schema_version`. A version, once released, is
/// never edited: a change is a new version on both sides.
enum Schema {
    static var sqliteMigrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE link (anchor TEXT PRIMARY KEY, user_id TEXT NOT NULL, email TEXT, linked_at REAL NOT NULL);
                CREATE INDEX link_user ON link(user_id);
                CREATE TABLE ledger (user_id TEXT PRIMARY KEY, state TEXT NOT NULL, offboarded_at REAL NOT NULL);
                CREATE TABLE pending_grant (user_id TEXT PRIMARY KEY, state TEXT NOT NULL);
                CREATE TABLE journal (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, plan_hash TEXT NOT NULL,
                    kind TEXT NOT NULL, anchor TEXT, email TEXT, user_id TEXT, change TEXT NOT NULL, step TEXT NOT NULL,
                    status TEXT NOT NULL, error TEXT, created_at REAL NOT NULL, updated_at REAL NOT NULL);
                CREATE INDEX journal_status ON journal(status);
                CREATE TABLE gate_history (id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, at REAL NOT NULL,
                    plan_hash TEXT NOT NULL, held INTEGER NOT NULL, verdicts TEXT NOT NULL, changes INTEGER NOT NULL);
                CREATE INDEX gate_hash ON gate_history(plan_hash);
                CREATE TABLE approval (plan_hash TEXT PRIMARY KEY, approved_at REAL NOT NULL, used_at REAL, used_run TEXT);
                CREATE TABLE snapshot (run_id TEXT PRIMARY KEY, at REAL NOT NULL, in_scope INTEGER NOT NULL,
                    people INTEGER NOT NULL, good INTEGER NOT NULL);
                CREATE TABLE deactivation (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, user_id TEXT NOT NULL,
                    approved INTEGER NOT NULL);
                CREATE TABLE run (run_id TEXT PRIMARY KEY, at REAL NOT NULL, mode TEXT NOT NULL, outcome TEXT NOT NULL,
                    plan_hash TEXT, changes INTEGER NOT NULL, applied INTEGER NOT NULL, escrow INTEGER NOT NULL,
                    report TEXT, duration_ms INTEGER NOT NULL, error TEXT);
                """)
        }
        m.registerMigration("v2-queue") { db in
            try db.execute(sql: """
                CREATE TABLE queue (id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, urgency INTEGER NOT NULL,
                    source TEXT NOT NULL, run_id TEXT NOT NULL, plan_hash TEXT NOT NULL, approved INTEGER NOT NULL,
                    kind TEXT NOT NULL, change TEXT NOT NULL, profile TEXT, seen_at REAL, enqueued_at REAL NOT NULL,
                    not_before REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT);
                CREATE INDEX queue_order ON queue(urgency, enqueued_at, id);
                CREATE TABLE feed_cookie (scope TEXT PRIMARY KEY, cookie BLOB NOT NULL, updated_at REAL NOT NULL);
                """)
        }
        m.registerMigration("v3-bans") { db in
            try db.execute(sql: """
                CREATE TABLE ban (user_id TEXT PRIMARY KEY, email TEXT, banned_until REAL NOT NULL, run_id TEXT NOT NULL,
                    confirmed_at REAL NOT NULL);
                """)
        }
        // When the MixerAI view a queued change was planned from was read: a change made and confirmed after that
        // (by the fast path, or by the other host) is not sent again (docs/high-availability.md).
        m.registerMigration("v5-queue-view") { db in
            try db.execute(sql: "ALTER TABLE queue ADD COLUMN view_at REAL")
        }
        m.registerMigration("v6-scim") { db in try db.execute(sql: scimTables(time: "REAL", serial: "INTEGER PRIMARY KEY AUTOINCREMENT")) }
        return m
    }

    /// PostgreSQL's versions of the same tables (times as DOUBLE PRECISION seconds, as SQLite's REAL; booleans as
    /// 0/1 integers, so that one set of statements serves both).
    static let postgresql: [(version: String, sql: String)] = [
        ("v1", """
            CREATE TABLE link (anchor TEXT PRIMARY KEY, user_id TEXT NOT NULL, email TEXT, linked_at DOUBLE PRECISION NOT NULL);
            CREATE INDEX link_user ON link(user_id);
            CREATE TABLE ledger (user_id TEXT PRIMARY KEY, state TEXT NOT NULL, offboarded_at DOUBLE PRECISION NOT NULL);
            CREATE TABLE pending_grant (user_id TEXT PRIMARY KEY, state TEXT NOT NULL);
            CREATE TABLE journal (id BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL, plan_hash TEXT NOT NULL,
                kind TEXT NOT NULL, anchor TEXT, email TEXT, user_id TEXT, change TEXT NOT NULL, step TEXT NOT NULL,
                status TEXT NOT NULL, error TEXT, created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL);
            CREATE INDEX journal_status ON journal(status);
            CREATE TABLE gate_history (id BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL, at DOUBLE PRECISION NOT NULL,
                plan_hash TEXT NOT NULL, held INTEGER NOT NULL, verdicts TEXT NOT NULL, changes INTEGER NOT NULL);
            CREATE INDEX gate_hash ON gate_history(plan_hash);
            CREATE TABLE approval (plan_hash TEXT PRIMARY KEY, approved_at DOUBLE PRECISION NOT NULL, used_at DOUBLE PRECISION,
                used_run TEXT);
            CREATE TABLE snapshot (run_id TEXT PRIMARY KEY, at DOUBLE PRECISION NOT NULL, in_scope INTEGER NOT NULL,
                people INTEGER NOT NULL, good INTEGER NOT NULL);
            CREATE TABLE deactivation (id BIGSERIAL PRIMARY KEY, at DOUBLE PRECISION NOT NULL, user_id TEXT NOT NULL,
                approved INTEGER NOT NULL);
            CREATE TABLE run (run_id TEXT PRIMARY KEY, at DOUBLE PRECISION NOT NULL, mode TEXT NOT NULL, outcome TEXT NOT NULL,
                plan_hash TEXT, changes INTEGER NOT NULL, applied INTEGER NOT NULL, escrow INTEGER NOT NULL,
                report TEXT, duration_ms BIGINT NOT NULL, error TEXT);
            """),
        ("v2-queue", """
            CREATE TABLE queue (id BIGSERIAL PRIMARY KEY, key TEXT NOT NULL UNIQUE, urgency INTEGER NOT NULL,
                source TEXT NOT NULL, run_id TEXT NOT NULL, plan_hash TEXT NOT NULL, approved INTEGER NOT NULL,
                kind TEXT NOT NULL, change TEXT NOT NULL, profile TEXT, seen_at DOUBLE PRECISION,
                enqueued_at DOUBLE PRECISION NOT NULL, not_before DOUBLE PRECISION NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT);
            CREATE INDEX queue_order ON queue(urgency, enqueued_at, id);
            CREATE TABLE feed_cookie (scope TEXT PRIMARY KEY, cookie BYTEA NOT NULL, updated_at DOUBLE PRECISION NOT NULL);
            """),
        ("v3-bans", """
            CREATE TABLE ban (user_id TEXT PRIMARY KEY, email TEXT, banned_until DOUBLE PRECISION NOT NULL, run_id TEXT NOT NULL,
                confirmed_at DOUBLE PRECISION NOT NULL);
            """),
        // The leader's lease (PostgreSQL only: SQLite is one host). Times in PostgreSQL's clock.
        ("v4-lease", """
            CREATE TABLE lease (name TEXT PRIMARY KEY, holder TEXT NOT NULL, host TEXT NOT NULL, epoch BIGINT NOT NULL,
                expires_at TIMESTAMPTZ NOT NULL, renewed_at TIMESTAMPTZ NOT NULL);
            """),
        ("v5-queue-view", """
            ALTER TABLE queue ADD COLUMN view_at DOUBLE PRECISION
            """),
        ("v6-scim", scimTables(time: "DOUBLE PRECISION", serial: "BIGSERIAL PRIMARY KEY")),
    ]

    /// What an IdP pushed over SCIM (docs/scim.md): users and groups (the group's members in a table of their own, so
    /// adding one member to a large group writes one row), deleted ones kept as tombstones (a deleted user is leaver
    /// evidence), and the requests that shaped each resource (for `explain`).
    static func scimTables(time: String, serial: String) -> String {
        """
        CREATE TABLE scim_resource (id TEXT PRIMARY KEY, type TEXT NOT NULL, external_id TEXT, name TEXT NOT NULL,
            body TEXT NOT NULL, version INTEGER NOT NULL, created \(time) NOT NULL, modified \(time) NOT NULL,
            deleted INTEGER NOT NULL DEFAULT 0);
        CREATE INDEX scim_resource_name ON scim_resource(type, name);
        CREATE INDEX scim_resource_external ON scim_resource(type, external_id);
        CREATE TABLE scim_member (group_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (group_id, user_id));
        CREATE INDEX scim_member_user ON scim_member(user_id);
        CREATE TABLE scim_request (id \(serial), at \(time) NOT NULL, resource_id TEXT NOT NULL, method TEXT NOT NULL,
            summary TEXT NOT NULL);
        CREATE INDEX scim_request_resource ON scim_request(resource_id)
        """
    }
}
