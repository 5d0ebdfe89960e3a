import GRDB
public import TelehubCore
public import TelehubStore

extension SQLiteStore {
    /// Rules, each rule's state per device, transitions, and the webhook
    /// deliveries they owe. Events keep the device's name, so history
    /// outlives a deleted device.
    static let alertSchema = """
        CREATE TABLE alert_rule (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            device TEXT,
            metric TEXT,
            kind TEXT NOT NULL,
            limit_value REAL,
            for_ms INTEGER NOT NULL DEFAULT 0,
            clear_at REAL,
            offline_ms INTEGER,
            severity TEXT NOT NULL,
            webhook TEXT,
            secret TEXT,
            created_at INTEGER NOT NULL
        );
        CREATE TABLE alert_state (
            rule_id INTEGER NOT NULL REFERENCES alert_rule(id) ON DELETE CASCADE,
            device_id INTEGER NOT NULL REFERENCES device(id) ON DELETE CASCADE,
            phase TEXT NOT NULL,
            since INTEGER NOT NULL,
            value REAL,
            PRIMARY KEY (rule_id, device_id)
        ) WITHOUT ROWID;
        CREATE TABLE alert_event (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            rule_id INTEGER NOT NULL,
            device TEXT NOT NULL,
            state TEXT NOT NULL,
            value REAL,
            ts INTEGER NOT NULL,
            starts_at INTEGER NOT NULL,
            recorded_at INTEGER NOT NULL
        );
        CREATE TABLE alert_delivery (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id INTEGER NOT NULL REFERENCES alert_event(id) ON DELETE CASCADE,
            rule_id INTEGER NOT NULL,
            url TEXT NOT NULL,
            secret TEXT,
            body TEXT NOT NULL,
            idempotency_key TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER NOT NULL,
            deadline INTEGER NOT NULL,
            last_error TEXT,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX alert_delivery_due ON alert_delivery (status, next_attempt_at);
        CREATE INDEX alert_delivery_receiver ON alert_delivery (url, status);
        """

    /// Each delivery names its device, so the deliveries one rule and device
    /// owe are found by index; `folded` counts the transitions folded into it.
    /// `alert_rule_version` moves with every rule created or deleted.
    static let deliveryFoldingSchema = """
        ALTER TABLE alert_delivery ADD COLUMN device TEXT NOT NULL DEFAULT '';
        ALTER TABLE alert_delivery ADD COLUMN folded INTEGER NOT NULL DEFAULT 0;
        UPDATE alert_delivery SET device = (SELECT e.device FROM alert_event e WHERE e.id = alert_delivery.event_id);
        CREATE INDEX alert_delivery_pair ON alert_delivery (rule_id, device, status);
        CREATE TABLE alert_rule_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
        INSERT INTO alert_rule_version (id, version) VALUES (1, 0);
        """

    // MARK: Rules

    public func createAlertRule(_ rule: AlertRule) async throws -> AlertRule {
        if let problem = AlertRuleBounds.problem(with: rule) { throw AlertStoreError.invalidRule(problem) }
        let now = EpochClock.nowMs()
        return try await pool.write { db in
            let count = try Int.fetchOne(db, sql: "SELECT count(*) FROM alert_rule") ?? 0
            guard count < AlertRuleBounds.maxRules else { throw AlertStoreError.tooManyRules(AlertRuleBounds.maxRules) }
            guard try Int.fetchOne(db, sql: "SELECT 1 FROM alert_rule WHERE name = ?", arguments: [rule.name]) == nil else {
                throw AlertStoreError.duplicateName(rule.name)
            }
            let (kind, limit, forMs, clearAt, offlineMs) = Self.columns(of: rule.condition)
            try db.execute(
                sql: """
                    INSERT INTO alert_rule (name, device, metric, kind, limit_value, for_ms, clear_at, offline_ms, severity, webhook, secret, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    rule.name, rule.device, rule.metric, kind, limit, forMs, clearAt, offlineMs, rule.severity.rawValue,
                    rule.webhook, rule.secret, now,
                ])
            var stored = rule
            stored.id = db.lastInsertedRowID
            try Self.bumpRulesVersion(db)
            return stored
        }
    }

    public func alertRulesVersion() async throws -> Int64 {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT version FROM alert_rule_version") ?? 0 }
    }

    public func alertRules() async throws -> [AlertRule] {
        try await pool.read { db in
            try GRDB.Row.fetchAll(db, sql: "SELECT * FROM alert_rule ORDER BY id").compactMap(Self.rule)
        }
    }

    /// Deletes the rule, its state and the deliveries it still owes; its
    /// history stays. - Returns: false when no rule has this id.
    public func deleteAlertRule(id: Int64) async throws -> Bool {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM alert_delivery WHERE rule_id = ? AND status = 'pending'", arguments: [id])
            try db.execute(sql: "DELETE FROM alert_rule WHERE id = ?", arguments: [id])
            guard db.changesCount > 0 else { return false }
            try Self.bumpRulesVersion(db)
            return true
        }
    }

    private static func bumpRulesVersion(_ db: Database) throws {
        try db.execute(sql: "UPDATE alert_rule_version SET version = version + 1")
    }

    // MARK: State and transitions

    public func alertStates() async throws -> [StoredAlertState] {
        try await pool.read { db in
            try GRDB.Row.fetchAll(
                db,
                sql: """
                    SELECT s.rule_id, s.device_id, d.name, s.phase, s.since, s.value
                    FROM alert_state s JOIN device d ON d.id = s.device_id ORDER BY s.rule_id, d.name
                    """
            ).map { row in
                StoredAlertState(
                    ruleID: row[0], deviceID: row[1], device: row[2],
                    state: AlertSeriesState(phase: AlertSeriesState.Phase(rawValue: row[3]) ?? .ok, since: row[4], value: row[5]))
            }
        }
    }

    /// Changes the clock caused (the offline watch), in their own transaction.
    public func recordAlertChanges(_ changes: AlertChanges) async throws {
        guard !changes.isEmpty else { return }
        let now = EpochClock.nowMs()
        try await writeClassifyingFaults { db in try Self.writeAlertChanges(changes, skipping: [], now: now, db) }
    }

    /// Inside a commit's transaction: changes of rules or devices that no
    /// longer exist (deleted while the changes were worked out) are dropped.
    static func writeAlertChanges(_ changes: AlertChanges, skipping missing: Set<Int64>, now: Int64, _ db: Database) throws {
        let live = try Set(Int64.fetchAll(db, sql: "SELECT id FROM alert_rule"))
        let asked = Set(changes.states.map(\.deviceID) + changes.transitions.map(\.deviceID)).subtracting(missing)
        let present = try Set(Int64.fetchAll(
            db, sql: "SELECT id FROM device WHERE id IN (SELECT value FROM json_each(?))",
            arguments: [String(describing: Array(asked))]))
        let upsert = try db.cachedStatement(
            sql: """
                INSERT INTO alert_state (rule_id, device_id, phase, since, value) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (rule_id, device_id) DO UPDATE SET phase = excluded.phase, since = excluded.since, value = excluded.value
                """)
        for change in changes.states where live.contains(change.ruleID) && present.contains(change.deviceID) {
            try upsert.execute(arguments: [
                change.ruleID, change.deviceID, change.state.phase.rawValue, change.state.since, change.state.value,
            ])
        }
        var folding: [DeliveryFoldPlan.Transition] = []
        let event = try db.cachedStatement(
            sql: "INSERT INTO alert_event (rule_id, device, state, value, ts, starts_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        for record in changes.transitions where live.contains(record.transition.ruleID) && present.contains(record.deviceID) {
            let transition = record.transition
            try event.execute(arguments: [
                transition.ruleID, transition.device, transition.state.rawValue, transition.value, transition.ts,
                transition.startsAt, now,
            ])
            guard let delivery = record.delivery else { continue }
            folding.append(DeliveryFoldPlan.Transition(transition, eventID: db.lastInsertedRowID, delivery: delivery))
        }
        guard !folding.isEmpty else { return }
        let plan = DeliveryFoldPlan(owed: try owedDeliveries(of: Set(folding.map(\.pair)), db), transitions: folding)
        try write(plan, now: now, db)
    }

    /// The pending deliveries of `pairs`, oldest first.
    private static func owedDeliveries(
        of pairs: Set<DeliveryFoldPlan.Pair>, _ db: Database
    ) throws -> [DeliveryFoldPlan.Pair: [OwedDelivery]] {
        let statement = try db.cachedStatement(
            sql: "SELECT id, attempts FROM alert_delivery WHERE rule_id = ? AND device = ? AND status = 'pending' ORDER BY id")
        var owed: [DeliveryFoldPlan.Pair: [OwedDelivery]] = [:]
        for pair in pairs {
            owed[pair] = try GRDB.Row.fetchAll(statement, arguments: [pair.ruleID, pair.device])
                .map { OwedDelivery(id: $0[0], attempts: $0[1]) }
        }
        return owed
    }

    /// New pending deliveries in the plan's order (a pair's go out oldest id
    /// first), and the waiting ones that transitions were folded into.
    private static func write(_ plan: DeliveryFoldPlan, now: Int64, _ db: Database) throws {
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO alert_delivery (event_id, rule_id, device, url, secret, body, idempotency_key, status, next_attempt_at,
                                            deadline, updated_at, folded)
                VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)
                """)
        for row in plan.inserts {
            let latest = row.latest
            try insert.execute(arguments: [
                latest.eventID, latest.pair.ruleID, latest.pair.device, latest.delivery.url, latest.delivery.secret,
                latest.delivery.body, latest.delivery.idempotencyKey, now, latest.delivery.deadline, now, row.folded,
            ])
        }
        for (id, row) in plan.updates {
            try db.execute(
                sql: """
                    UPDATE alert_delivery SET event_id = ?, url = ?, secret = ?, body = ?, idempotency_key = ?,
                        next_attempt_at = ?, deadline = ?, updated_at = ?, folded = folded + ?
                    WHERE id = ?
                    """,
                arguments: [
                    row.latest.eventID, row.latest.delivery.url, row.latest.delivery.secret, row.latest.delivery.body,
                    row.latest.delivery.idempotencyKey, now, row.latest.delivery.deadline, now, row.folded, id,
                ])
        }
    }

    // MARK: History and deliveries

    /// The newest transitions and deliveries, at most `limit` of each.
    public func alertHistory(limit: Int) async throws -> (events: [AlertEventRecord], deliveries: [AlertDelivery]) {
        try await pool.read { db in
            let events = try GRDB.Row.fetchAll(
                db, sql: "SELECT * FROM alert_event ORDER BY id DESC LIMIT ?", arguments: [limit]
            ).map { row in
                AlertEventRecord(
                    id: row["id"],
                    transition: AlertTransition(
                        ruleID: row["rule_id"], device: row["device"],
                        state: AlertTransition.State(rawValue: row["state"]) ?? .firing, value: row["value"], ts: row["ts"],
                        startsAt: row["starts_at"]),
                    recordedAt: row["recorded_at"])
            }
            let deliveries = try GRDB.Row.fetchAll(
                db, sql: "SELECT * FROM alert_delivery ORDER BY id DESC LIMIT ?", arguments: [limit]
            ).map(Self.delivery)
            return (events, deliveries)
        }
    }

    /// Pending deliveries whose time has come, oldest first; one waits while
    /// an older delivery of the same rule and device is still owed (see `TelemetryStore`).
    public func dueDeliveries(now: Int64, limit: Int) async throws -> [AlertDelivery] {
        try await pool.read { db in
            try GRDB.Row.fetchAll(
                db,
                sql: """
                    SELECT d.* FROM alert_delivery d
                    WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND NOT EXISTS (
                        SELECT 1 FROM alert_delivery o
                        WHERE o.rule_id = d.rule_id AND o.device = d.device AND o.status = 'pending' AND o.id < d.id)
                    ORDER BY d.next_attempt_at, d.id LIMIT ?
                    """,
                arguments: [now, limit]
            ).map(Self.delivery)
        }
    }

    /// When the next pending delivery is due, nil when none is pending.
    public func nextDeliveryDue() async throws -> Int64? {
        try await pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT min(next_attempt_at) FROM alert_delivery WHERE status = 'pending'")
        }
    }

    public func recordDeliveryOutcome(id: Int64, outcome: DeliveryOutcome) async throws {
        let now = EpochClock.nowMs()
        try await writeClassifyingFaults { db in
            switch outcome {
            case .delivered:
                try db.execute(
                    sql: "UPDATE alert_delivery SET status = 'delivered', attempts = attempts + 1, last_error = NULL, updated_at = ? WHERE id = ? AND status = 'pending'",
                    arguments: [now, id])
            case .retry(let at, let error):
                try db.execute(
                    sql: "UPDATE alert_delivery SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
                    arguments: [at, error, now, id])
            case .dead(let error):
                try db.execute(
                    sql: "UPDATE alert_delivery SET status = 'dead', attempts = attempts + 1, last_error = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
                    arguments: [error, now, id])
            }
        }
    }

    /// Queues a dead delivery again, due now, with a fresh time budget.
    /// - Returns: false when no dead delivery has this id.
    public func redeliver(id: Int64, deadline: Int64) async throws -> Bool {
        let now = EpochClock.nowMs()
        return try await pool.write { db in
            try db.execute(
                sql: "UPDATE alert_delivery SET status = 'pending', next_attempt_at = ?, deadline = ?, updated_at = ? WHERE id = ? AND status = 'dead'",
                arguments: [now, deadline, now, id])
            return db.changesCount > 0
        }
    }

    /// Deliveries by status, and when the oldest pending one was queued.
    public func deliveryCounts() async throws -> DeliveryCounts {
        try await pool.read { db in
            var counts: [AlertDelivery.Status: Int] = [:]
            for row in try GRDB.Row.fetchAll(db, sql: "SELECT status, count(*) FROM alert_delivery GROUP BY status") {
                if let status = AlertDelivery.Status(rawValue: row[0]) { counts[status] = row[1] }
            }
            let oldest = try Int64.fetchOne(
                db, sql: "SELECT min(e.recorded_at) FROM alert_delivery d JOIN alert_event e ON e.id = d.event_id WHERE d.status = 'pending'")
            let folded = try Int.fetchOne(db, sql: "SELECT coalesce(sum(folded), 0) FROM alert_delivery") ?? 0
            return DeliveryCounts(byStatus: counts, oldestPending: oldest, folded: folded)
        }
    }

    /// Deletes at most `maxRows` transitions recorded before `before`, with
    /// their deliveries, keeping any whose delivery is still owed.
    public func deleteAlertHistory(before: Int64, maxRows: Int) async throws -> Int {
        try await pool.write { db in
            try db.execute(
                sql: """
                    DELETE FROM alert_event WHERE id IN (
                        SELECT e.id FROM alert_event e WHERE e.recorded_at < ? AND NOT EXISTS (
                            SELECT 1 FROM alert_delivery d WHERE d.event_id = e.id AND d.status = 'pending')
                        ORDER BY e.id LIMIT ?)
                    """, arguments: [before, maxRows])
            return db.changesCount
        }
    }

    /// Each device's id, name and last message time, for the offline watch
    /// (four times a second: none of `devices()`'s token counting).
    public func deviceActivity() async throws -> [DeviceRecord] {
        try await pool.read { db in
            try GRDB.Row.fetchAll(db, sql: "SELECT id, name, created_at, last_seen, last_seq FROM device").map { row in
                DeviceRecord(
                    id: row["id"], name: row["name"], createdAt: row["created_at"], lastSeen: row["last_seen"],
                    lastSeq: row["last_seq"], tokens: 0)
            }
        }
    }

    // MARK: Rows

    private static func columns(of condition: AlertCondition) -> (String, Double?, Int64, Double?, Int64?) {
        switch condition {
        case .threshold(let t): (t.direction.rawValue, t.limit, t.forMs, t.clearAt, nil)
        case .offline(let afterMs): ("offline", nil, 0, nil, afterMs)
        }
    }

    private static func rule(_ row: GRDB.Row) -> AlertRule? {
        let kind: String = row["kind"]
        let condition: AlertCondition
        if kind == "offline" {
            guard let afterMs: Int64 = row["offline_ms"] else { return nil }
            condition = .offline(afterMs: afterMs)
        } else {
            guard let direction = Threshold.Direction(rawValue: kind), let limit: Double = row["limit_value"] else { return nil }
            condition = .threshold(Threshold(direction: direction, limit: limit, forMs: row["for_ms"], clearAt: row["clear_at"]))
        }
        return AlertRule(
            id: row["id"], name: row["name"], device: row["device"], metric: row["metric"], condition: condition,
            severity: AlertRule.Severity(rawValue: row["severity"]) ?? .warning, webhook: row["webhook"], secret: row["secret"])
    }

    private static func delivery(_ row: GRDB.Row) -> AlertDelivery {
        AlertDelivery(
            id: row["id"], eventID: row["event_id"], ruleID: row["rule_id"], url: row["url"], secret: row["secret"],
            body: row["body"], idempotencyKey: row["idempotency_key"],
            status: AlertDelivery.Status(rawValue: row["status"]) ?? .pending, attempts: row["attempts"],
            nextAttemptAt: row["next_attempt_at"], deadline: row["deadline"], lastError: row["last_error"],
            updatedAt: row["updated_at"], folded: row["folded"], device: row["device"])
    }
}
