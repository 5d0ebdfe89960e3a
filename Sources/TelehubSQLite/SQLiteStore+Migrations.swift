import GRDB
import TelehubStore

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
        migrator.registerMigration("v3-fresh-devices-and-sessions") { db in
            try db.execute(sql: freshDevicesSchema)
            try db.execute(sql: "PRAGMA application_id = \(DatabaseFileCheck.applicationID)")
        }
        migrator.registerMigration("v4-chunks") { db in
            // Rows of the old layout move over in steps while the hub serves
            // (`LegacyRows`); a file without any has nothing to move.
            try db.execute(sql: chunkSchema)
            let oldRows = try Int.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM reading) + EXISTS (SELECT 1 FROM rollup_1m) + EXISTS (SELECT 1 FROM rollup_1h)")
            if oldRows == 0 { try db.execute(sql: "DROP TABLE reading; DROP TABLE rollup_1m; DROP TABLE rollup_1h") }
        }
        migrator.registerMigration("v5-alerts") { db in
            try db.execute(sql: alertSchema)
            try db.execute(sql: metricDisplaySchema)
        }
        migrator.registerMigration("v6-delivery-folding") { db in
            try db.execute(sql: deliveryFoldingSchema)
        }
        migrator.registerMigration("v7-control-tokens") { db in
            // SQLite cannot change a CHECK constraint: the table is made
            // again with the new kind and its rows copied (foreign keys are
            // checked once the migration is done, GRDB's default).
            try db.execute(sql: controlTokenSchema)
        }
        migrator.registerMigration("v8-commands-and-state") { db in
            try db.execute(sql: commandSchema)
            try db.execute(sql: stateSchema)
        }
        return migrator
    }

    /// Tokens of a third kind, `control` (`thc_`).
    private static let controlTokenSchema = """
        CREATE TABLE token_new (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            kind TEXT NOT NULL CHECK (kind IN ('device', 'read', 'control')),
            device_id INTEGER REFERENCES device(id) ON DELETE CASCADE,
            label TEXT,
            hash BLOB NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            last_used_at INTEGER,
            expires_at INTEGER,
            revoked_at INTEGER,
            CHECK ((kind = 'device') = (device_id IS NOT NULL))
        );
        INSERT INTO token_new (id, kind, device_id, label, hash, created_at, last_used_at, expires_at, revoked_at)
            SELECT id, kind, device_id, label, hash, created_at, last_used_at, expires_at, revoked_at FROM token;
        DROP TABLE token;
        ALTER TABLE token_new RENAME TO token;
        """

    /// Series values in compressed chunks (see `ChunkTable`), and a rollup
    /// row per series and hour holding its minutes (see `RollupTable`).
    private static let chunkSchema = """
        CREATE TABLE chunk (
            id INTEGER PRIMARY KEY,
            device_id INTEGER NOT NULL,
            metric_id INTEGER NOT NULL,
            start_ts INTEGER NOT NULL,
            end_ts INTEGER NOT NULL,
            count INTEGER NOT NULL,
            sealed INTEGER NOT NULL,
            data BLOB NOT NULL
        );
        CREATE UNIQUE INDEX chunk_series ON chunk (device_id, metric_id, start_ts);
        CREATE TABLE rollup (
            device_id INTEGER NOT NULL,
            metric_id INTEGER NOT NULL,
            hour INTEGER NOT NULL,
            sum REAL NOT NULL,
            min REAL NOT NULL,
            max REAL NOT NULL,
            count INTEGER NOT NULL,
            minutes BLOB,
            PRIMARY KEY (device_id, metric_id, hour)
        ) WITHOUT ROWID;
        """

    /// Device ids are never reused (AUTOINCREMENT), so nothing remembered
    /// about a deleted device (a cached `lastSeq`, a row written by a flush
    /// that was in flight) can attach to a new device of the same name.
    /// Rows left by a deleted device before this migration are removed.
    /// Web sessions: the dashboard's cookie holds a random session id; only
    /// its hash is stored, and it ends with its read token.
    private static let freshDevicesSchema = """
        CREATE TABLE device_new (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL,
            last_seen INTEGER,
            last_seq INTEGER NOT NULL DEFAULT 0
        );
        INSERT INTO device_new (id, name, created_at, last_seen, last_seq)
            SELECT id, name, created_at, last_seen, last_seq FROM device;
        DROP TABLE device;
        ALTER TABLE device_new RENAME TO device;
        CREATE TEMP TABLE orphan AS
            SELECT DISTINCT device_id AS id FROM latest WHERE device_id NOT IN (SELECT id FROM device);
        DELETE FROM reading WHERE device_id IN (SELECT id FROM orphan);
        DELETE FROM rollup_1m WHERE device_id IN (SELECT id FROM orphan);
        DELETE FROM rollup_1h WHERE device_id IN (SELECT id FROM orphan);
        DELETE FROM latest WHERE device_id IN (SELECT id FROM orphan);
        DROP TABLE orphan;
        CREATE TABLE web_session (
            hash BLOB PRIMARY KEY,
            token_id INTEGER NOT NULL REFERENCES token(id) ON DELETE CASCADE,
            created_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL
        );
        CREATE INDEX web_session_token ON web_session (token_id, created_at);
        """

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
