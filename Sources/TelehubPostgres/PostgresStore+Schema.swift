import PostgresNIO
import TelehubCore

extension PostgresStore {
    /// Every instance runs this at start. The advisory lock makes a second
    /// instance wait for the first to finish, then find nothing left to do.
    /// Never edit a migration once released: add a new one.
    func migrate() async throws {
        try await write { sql in
            try await sql.run("SELECT pg_advisory_xact_lock(\(Self.migrationLock))")
            if let schema = url.schema { try await sql.run(PostgresQuery(unsafeSQL: "CREATE SCHEMA IF NOT EXISTS \(schema)")) }
            try await sql.run("CREATE TABLE IF NOT EXISTS telehub_migration (name text PRIMARY KEY, applied_at int8 NOT NULL)")
            let applied = Set(try await sql.column("SELECT name FROM telehub_migration", as: String.self))
            let known = Set(Self.migrations.map(\.name))
            if let unknown = applied.subtracting(known).sorted().first {
                throw PostgresStoreError.schema(
                    "the database was migrated by a newer Telehub (migration \(unknown)); run that version or a newer one")
            }
            for migration in Self.migrations where !applied.contains(migration.name) {
                for statement in migration.statements { try await sql.run(PostgresQuery(unsafeSQL: statement)) }
                try await sql.run("INSERT INTO telehub_migration (name, applied_at) VALUES (\(migration.name), \(EpochClock.nowMs()))")
            }
        }
    }

    /// Arbitrary, constant: the key of the advisory lock migrations hold.
    static let migrationLock: Int64 = 0x7E1E_4B00_0001

    static let migrations: [(name: String, statements: [String])] = [
        ("v1-foundation", foundation),
        ("v2-alerts", alerts),
        ("v3-stream", stream),
        ("v4-presence", presence),
        ("v5-delivery-folding", deliveryFolding),
        ("v6-control-tokens", controlTokens),
        ("v7-commands-and-state", commands),
    ]

    /// Each delivery names its device, so the deliveries one rule and device
    /// owe are found by index; `folded` counts the transitions folded into it.
    /// `alert_rule_version` moves with every rule created or deleted.
    /// Commands, a queue per device (`PostgresStore+Commands`), and desired
    /// and reported state (`PostgresStore+State`).
    private static let commands = [
        """
        CREATE TABLE command (
            n bigserial PRIMARY KEY,
            id text NOT NULL UNIQUE,
            device_id int8 NOT NULL REFERENCES device(id) ON DELETE CASCADE,
            name text NOT NULL,
            args text NOT NULL,
            status text NOT NULL,
            priority int8 NOT NULL,
            created_at int8 NOT NULL,
            expires_at int8 NOT NULL,
            attempts int8 NOT NULL DEFAULT 0,
            delivered_at int8,
            completed_at int8,
            result text,
            message text
        )
        """,
        "CREATE INDEX command_device ON command (device_id, status, priority DESC, n)",
        "CREATE INDEX command_open_expiry ON command (expires_at) WHERE status IN ('queued', 'sent', 'delivered')",
        "CREATE INDEX command_queued ON command (device_id) WHERE status = 'queued'",
        """
        CREATE TABLE device_state (
            device_id int8 PRIMARY KEY REFERENCES device(id) ON DELETE CASCADE,
            desired text NOT NULL DEFAULT '{}',
            desired_version int8 NOT NULL DEFAULT 0,
            desired_at int8,
            reported text NOT NULL DEFAULT '{}',
            reported_version int8 NOT NULL DEFAULT 0,
            reported_at int8,
            applied int8
        )
        """,
    ]

    /// Tokens of a third kind, `control` (`thc_`).
    private static let controlTokens = [
        "ALTER TABLE token DROP CONSTRAINT token_kind_check",
        "ALTER TABLE token ADD CONSTRAINT token_kind_check CHECK (kind IN ('device', 'read', 'control'))",
    ]

    private static let deliveryFolding = [
        "ALTER TABLE alert_delivery ADD COLUMN device text NOT NULL DEFAULT ''",
        "ALTER TABLE alert_delivery ADD COLUMN folded int8 NOT NULL DEFAULT 0",
        "UPDATE alert_delivery d SET device = e.device FROM alert_event e WHERE e.id = d.event_id",
        "CREATE INDEX alert_delivery_pair ON alert_delivery (rule_id, device, status)",
        "CREATE TABLE alert_rule_version (id int8 PRIMARY KEY CHECK (id = 1), version int8 NOT NULL)",
        "INSERT INTO alert_rule_version (id, version) VALUES (1, 0)",
    ]

    /// Which hub holds each device's current connection, and when each hub last
    /// said it was alive (`PostgresStore+Presence`).
    /// Column `session` holds the connection id; it keeps its old name so hubs of earlier versions can share the database.
    private static let presence = [
        "CREATE TABLE hub_instance (instance text PRIMARY KEY, beat int8 NOT NULL)",
        """
        CREATE TABLE device_presence (
            device_id int8 PRIMARY KEY REFERENCES device(id) ON DELETE CASCADE,
            instance text NOT NULL,
            session text NOT NULL,
            since int8 NOT NULL
        )
        """,
    ]

    /// The shared log of live events (`PostgresStore+Stream`). Positions
    /// start at the clock in microseconds, as a single hub's stream ids do, so
    /// an id a dashboard kept from an earlier hub is never mistaken for a new one.
    private static let stream = [
        "CREATE TABLE stream_head (id int4 PRIMARY KEY CHECK (id = 1), position int8 NOT NULL)",
        "INSERT INTO stream_head VALUES (1, (extract(epoch FROM clock_timestamp()) * 1000000)::int8)",
        """
        CREATE TABLE stream_log (
            first int8 PRIMARY KEY,
            last int8 NOT NULL,
            instance text NOT NULL,
            at int8 NOT NULL,
            body text NOT NULL
        )
        """,
    ]

    /// The same tables as the SQLite store's, in PostgreSQL's types. Ids come
    /// from identity columns, never reused. `reading` is partitioned by week
    /// of `ts` (`PostgresStore+Partitions`); rollups are complete at every commit.
    private static let foundation = [
        """
        CREATE TABLE device (
            id int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL UNIQUE,
            created_at int8 NOT NULL,
            last_seen int8,
            last_seq int8 NOT NULL DEFAULT 0
        )
        """,
        "CREATE TABLE metric (id int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL UNIQUE)",
        """
        CREATE TABLE token (
            id int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            kind text NOT NULL CHECK (kind IN ('device', 'read')),
            device_id int8 REFERENCES device(id) ON DELETE CASCADE,
            label text,
            hash bytea NOT NULL UNIQUE,
            created_at int8 NOT NULL,
            last_used_at int8,
            expires_at int8,
            revoked_at int8,
            CHECK ((kind = 'device') = (device_id IS NOT NULL))
        )
        """,
        """
        CREATE TABLE web_session (
            hash bytea PRIMARY KEY,
            token_id int8 NOT NULL REFERENCES token(id) ON DELETE CASCADE,
            created_at int8 NOT NULL,
            expires_at int8 NOT NULL
        )
        """,
        "CREATE INDEX web_session_token ON web_session (token_id, created_at)",
        """
        CREATE TABLE reading (
            device_id int8 NOT NULL,
            metric_id int8 NOT NULL,
            ts int8 NOT NULL,
            value float8 NOT NULL,
            PRIMARY KEY (device_id, metric_id, ts)
        ) PARTITION BY RANGE (ts)
        """,
        """
        CREATE TABLE latest (
            device_id int8 NOT NULL,
            metric_id int8 NOT NULL,
            ts int8 NOT NULL,
            value float8 NOT NULL,
            PRIMARY KEY (device_id, metric_id)
        )
        """,
        rollupTable("rollup_minute"),
        rollupTable("rollup_hour"),
        """
        CREATE TABLE metric_display (
            device text NOT NULL,
            metric text NOT NULL,
            unit text,
            label text,
            PRIMARY KEY (device, metric)
        )
        """,
    ]

    private static func rollupTable(_ name: String) -> String {
        """
        CREATE TABLE \(name) (
            device_id int8 NOT NULL,
            metric_id int8 NOT NULL,
            bucket int8 NOT NULL,
            sum float8 NOT NULL,
            min float8 NOT NULL,
            max float8 NOT NULL,
            count int8 NOT NULL,
            PRIMARY KEY (device_id, metric_id, bucket)
        )
        """
    }

    /// Rules, state per rule and device, transitions, and the deliveries they owe.
    private static let alerts = [
        """
        CREATE TABLE alert_rule (
            id int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL UNIQUE,
            device text,
            metric text,
            kind text NOT NULL,
            limit_value float8,
            for_ms int8 NOT NULL DEFAULT 0,
            clear_at float8,
            offline_ms int8,
            severity text NOT NULL,
            webhook text,
            secret text,
            created_at int8 NOT NULL
        )
        """,
        """
        CREATE TABLE alert_state (
            rule_id int8 NOT NULL REFERENCES alert_rule(id) ON DELETE CASCADE,
            device_id int8 NOT NULL REFERENCES device(id) ON DELETE CASCADE,
            phase text NOT NULL,
            since int8 NOT NULL,
            value float8,
            PRIMARY KEY (rule_id, device_id)
        )
        """,
        """
        CREATE TABLE alert_event (
            id int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            rule_id int8 NOT NULL,
            device text NOT NULL,
            state text NOT NULL,
            value float8,
            ts int8 NOT NULL,
            starts_at int8 NOT NULL,
            recorded_at int8 NOT NULL
        )
        """,
        """
        CREATE TABLE alert_delivery (
            id int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            event_id int8 NOT NULL REFERENCES alert_event(id) ON DELETE CASCADE,
            rule_id int8 NOT NULL,
            url text NOT NULL,
            secret text,
            body text NOT NULL,
            idempotency_key text NOT NULL UNIQUE,
            status text NOT NULL,
            attempts int8 NOT NULL DEFAULT 0,
            next_attempt_at int8 NOT NULL,
            deadline int8 NOT NULL,
            last_error text,
            updated_at int8 NOT NULL
        )
        """,
        "CREATE INDEX alert_delivery_due ON alert_delivery (status, next_attempt_at)",
        "CREATE INDEX alert_delivery_receiver ON alert_delivery (url, status)",
        "CREATE INDEX alert_delivery_event ON alert_delivery (event_id)",
    ]
}
