import GRDB

extension SQLiteStore {
    /// Migrations run at every start, on a new or an existing file. Never edit
    /// a registered migration: add a new one.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-foundation") { db in
            try db.execute(sql: foundationSchema)
        }
        migrator.registerMigration("v2-rollups") { db in
            try db.execute(sql: rollupSchema)
            // Existing readings get their rollups once, here.
            for tier in ["rollup_1m": 60_000, "rollup_1h": 3_600_000] {
                try db.execute(
                    sql: """
                        INSERT INTO \(tier.key) (device_id, metric_id, bucket, sum, min, max, count)
                        SELECT device_id, metric_id, ts - ts % \(tier.value), sum(value), min(value), max(value), count(*)
                        FROM reading GROUP BY device_id, metric_id, ts - ts % \(tier.value)
                        """)
            }
        }
        return migrator
    }

    /// Per-minute and per-hour aggregates of every series, kept in the same
    /// transaction as the raw rows, so a month is answered from 720 hourly
    /// rows instead of 2.6 million raw ones.
    private static let rollupSchema = ["rollup_1m", "rollup_1h"].map { table in
        """
        CREATE TABLE \(table) (
            device_id INTEGER NOT NULL,
            metric_id INTEGER NOT NULL,
            bucket INTEGER NOT NULL,
            sum REAL NOT NULL,
            min REAL NOT NULL,
            max REAL NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (device_id, metric_id, bucket)
        ) WITHOUT ROWID;
        """
    }.joined(separator: "\n")

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
