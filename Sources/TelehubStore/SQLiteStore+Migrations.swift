import GRDB

extension SQLiteStore {
    /// Migrations run at every start, on a new or an existing file. Never edit
    /// a registered migration: add a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-foundation") { db in
            try db.execute(sql: foundationSchema)
        }
        return migrator
    }

    /// Readings are keyed by integer ids in a `WITHOUT ROWID` table, so a value
    /// costs about 26 bytes on disk and each series is stored contiguously.
    private static let foundationSchema = """
        CREATE TABLE device (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            last_seen INTEGER,
            last_seq INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE metric (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE
        );
        CREATE TABLE token (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL CHECK (kind IN ('device', 'read')),
            device_id INTEGER REFERENCES device(id) ON DELETE CASCADE,
            label TEXT,
            hash BLOB NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            last_used_at INTEGER,
            expires_at INTEGER,
            revoked_at INTEGER,
            CHECK ((kind = 'device') = (device_id IS NOT NULL))
        );
        CREATE TABLE reading (
            device_id INTEGER NOT NULL,
            metric_id INTEGER NOT NULL,
            ts INTEGER NOT NULL,
            value REAL NOT NULL,
            PRIMARY KEY (device_id, metric_id, ts)
        ) WITHOUT ROWID;
        CREATE TABLE latest (
            device_id INTEGER NOT NULL,
            metric_id INTEGER NOT NULL,
            ts INTEGER NOT NULL,
            value REAL NOT NULL,
            PRIMARY KEY (device_id, metric_id)
        ) WITHOUT ROWID;
        """
}
