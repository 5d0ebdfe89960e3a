import PostgresNIO
public import TelehubCore
public import TelehubStore

extension PostgresStore {
    // MARK: Rules

    public func createAlertRule(_ rule: AlertRule) async throws -> AlertRule {
        if let problem = AlertRuleBounds.problem(with: rule) { throw AlertStoreError.invalidRule(problem) }
        let now = EpochClock.nowMs()
        let (kind, limit, forMs, clearAt, offlineMs) = Self.columns(of: rule.condition)
        return try await write { sql in
            // One creator at a time, so the count bound holds across instances.
            try await sql.run("LOCK TABLE alert_rule IN SHARE ROW EXCLUSIVE MODE")
            let count = try await sql.value("SELECT count(*)::int8 FROM alert_rule", as: Int64.self) ?? 0
            guard count < AlertRuleBounds.maxRules else { throw AlertStoreError.tooManyRules(AlertRuleBounds.maxRules) }
            guard try await sql.value("SELECT 1::int8 FROM alert_rule WHERE name = \(rule.name)", as: Int64.self) == nil else {
                throw AlertStoreError.duplicateName(rule.name)
            }
            let id = try await sql.value(
                """
                INSERT INTO alert_rule (name, device, metric, kind, limit_value, for_ms, clear_at, offline_ms, severity, webhook, secret, created_at)
                VALUES (\(rule.name), \(rule.device), \(rule.metric), \(kind), \(limit), \(forMs), \(clearAt), \(offlineMs),
                        \(rule.severity.rawValue), \(rule.webhook), \(rule.secret), \(now)) RETURNING id
                """, as: Int64.self)
            var stored = rule
            stored.id = id ?? 0
            try await sql.run("UPDATE alert_rule_version SET version = version + 1")
            return stored
        }
    }

    public func alertRulesVersion() async throws -> Int64 {
        try await read { sql in try await sql.value("SELECT version FROM alert_rule_version", as: Int64.self) ?? 0 }
    }

    public func alertRules() async throws -> [AlertRule] {
        try await read { sql in
            try await sql.rows(
                """
                SELECT id, name, device, metric, kind, limit_value, for_ms, clear_at, offline_ms, severity, webhook, secret
                FROM alert_rule ORDER BY id
                """,
                as: (Int64, String, String?, String?, String, Double?, Int64, Double?, Int64?, String, String?, String?).self
            ).compactMap { id, name, device, metric, kind, limit, forMs, clearAt, offlineMs, severity, webhook, secret in
                let condition: AlertCondition
                if kind == "offline" {
                    guard let offlineMs else { return nil }
                    condition = .offline(afterMs: offlineMs)
                } else {
                    guard let direction = Threshold.Direction(rawValue: kind), let limit else { return nil }
                    condition = .threshold(Threshold(direction: direction, limit: limit, forMs: forMs, clearAt: clearAt))
                }
                return AlertRule(
                    id: id, name: name, device: device, metric: metric, condition: condition,
                    severity: AlertRule.Severity(rawValue: severity) ?? .warning, webhook: webhook, secret: secret)
            }
        }
    }

    public func deleteAlertRule(id: Int64) async throws -> Bool {
        try await write { sql in
            try await sql.run("DELETE FROM alert_delivery WHERE rule_id = \(id) AND status = 'pending'")
            guard try await sql.count("DELETE FROM alert_rule WHERE id = \(id) RETURNING 1") > 0 else { return false }
            try await sql.run("UPDATE alert_rule_version SET version = version + 1")
            return true
        }
    }

    // MARK: State and transitions

    public func alertStates() async throws -> [StoredAlertState] {
        try await read { sql in
            try await sql.rows(
                """
                SELECT s.rule_id, s.device_id, d.name, s.phase, s.since, s.value
                FROM alert_state s JOIN device d ON d.id = s.device_id ORDER BY s.rule_id, d.name COLLATE "C"
                """, as: (Int64, Int64, String, String, Int64, Double?).self
            ).map { rule, deviceID, device, phase, since, value in
                StoredAlertState(
                    ruleID: rule, deviceID: deviceID, device: device,
                    state: AlertSeriesState(phase: AlertSeriesState.Phase(rawValue: phase) ?? .ok, since: since, value: value))
            }
        }
    }

    public func recordAlertChanges(_ changes: AlertChanges) async throws {
        guard !changes.isEmpty else { return }
        let now = EpochClock.nowMs()
        try await write { sql in try await Self.writeAlertChanges(changes, skipping: [], now: now, sql) }
    }

    /// Inside a commit's transaction: changes of rules or devices that no
    /// longer exist (deleted while the changes were worked out) are dropped.
    static func writeAlertChanges(_ changes: AlertChanges, skipping missing: Set<Int64>, now: Int64, _ sql: SQLSession) async throws {
        let live = Set(try await sql.column("SELECT id FROM alert_rule", as: Int64.self))
        let asked = Set(changes.states.map(\.deviceID) + changes.transitions.map(\.deviceID)).subtracting(missing)
        let present = Set(try await sql.column("SELECT id FROM device WHERE id = ANY(\(Array(asked))::int8[])", as: Int64.self))
        for change in changes.states where live.contains(change.ruleID) && present.contains(change.deviceID) {
            try await sql.run(
                """
                INSERT INTO alert_state (rule_id, device_id, phase, since, value)
                VALUES (\(change.ruleID), \(change.deviceID), \(change.state.phase.rawValue), \(change.state.since), \(change.state.value))
                ON CONFLICT (rule_id, device_id) DO UPDATE SET phase = excluded.phase, since = excluded.since, value = excluded.value
                """)
        }
        let kept = changes.transitions.filter { live.contains($0.transition.ruleID) && present.contains($0.deviceID) }
        guard !kept.isEmpty else { return }
        let eventIDs = try await insertEvents(kept.map(\.transition), now: now, sql)
        let folding = zip(kept, eventIDs).compactMap { record, eventID in
            record.delivery.map { DeliveryFoldPlan.Transition(record.transition, eventID: eventID, delivery: $0) }
        }
        guard !folding.isEmpty else { return }
        let plan = DeliveryFoldPlan(owed: try await owedDeliveries(of: Set(folding.map(\.pair)), sql), transitions: folding)
        try await insertDeliveries(plan.inserts, now: now, sql)
        for (id, row) in plan.updates {
            try await sql.run(
                """
                UPDATE alert_delivery SET event_id = \(row.latest.eventID), url = \(row.latest.delivery.url),
                    secret = \(row.latest.delivery.secret), body = \(row.latest.delivery.body),
                    idempotency_key = \(row.latest.delivery.idempotencyKey), next_attempt_at = \(now),
                    deadline = \(row.latest.delivery.deadline), updated_at = \(now), folded = folded + \(row.folded)
                WHERE id = \(id)
                """)
        }
    }

    /// Records transitions in one statement. - Returns: their events' ids, in the transitions' order.
    private static func insertEvents(_ transitions: [AlertTransition], now: Int64, _ sql: SQLSession) async throws -> [Int64] {
        let ids = try await sql.column(
            """
            INSERT INTO alert_event (rule_id, device, state, value, ts, starts_at, recorded_at)
            SELECT rule_id, device, state, CASE WHEN has_value THEN value END, ts, starts_at, \(now)
            FROM unnest(\(transitions.map(\.ruleID))::int8[], \(transitions.map(\.device))::text[],
                        \(transitions.map(\.state.rawValue))::text[], \(transitions.map { $0.value ?? 0 })::float8[],
                        \(transitions.map { $0.value != nil })::bool[], \(transitions.map(\.ts))::int8[],
                        \(transitions.map(\.startsAt))::int8[])
                 WITH ORDINALITY AS t(rule_id, device, state, value, has_value, ts, starts_at, position)
            ORDER BY position
            RETURNING id
            """, as: Int64.self)
        guard ids.count == transitions.count else { throw PostgresStoreError.client("\(ids.count) alert events stored of \(transitions.count)") }
        // Rows are inserted, and their identities drawn, in `position` order.
        return ids.sorted()
    }

    /// The pending deliveries of `pairs`, oldest first, locked: two hubs
    /// committing for one device fold in turn.
    private static func owedDeliveries(
        of pairs: Set<DeliveryFoldPlan.Pair>, _ sql: SQLSession
    ) async throws -> [DeliveryFoldPlan.Pair: [OwedDelivery]] {
        let list = Array(pairs)
        let rows = try await sql.rows(
            """
            SELECT id, attempts, rule_id, device FROM alert_delivery
            WHERE status = 'pending'
              AND (rule_id, device) IN (SELECT * FROM unnest(\(list.map(\.ruleID))::int8[], \(list.map(\.device))::text[]))
            ORDER BY id FOR UPDATE
            """, as: (Int64, Int64, Int64, String).self)
        var owed: [DeliveryFoldPlan.Pair: [OwedDelivery]] = [:]
        for (id, attempts, ruleID, device) in rows {
            owed[DeliveryFoldPlan.Pair(ruleID: ruleID, device: device), default: []].append(OwedDelivery(id: id, attempts: Int(attempts)))
        }
        return owed
    }

    /// New pending deliveries in one statement, their ids in the given order
    /// (a pair's deliveries go out oldest id first).
    private static func insertDeliveries(_ rows: [DeliveryFoldPlan.Row], now: Int64, _ sql: SQLSession) async throws {
        guard !rows.isEmpty else { return }
        let latest = rows.map(\.latest)
        try await sql.run(
            """
            INSERT INTO alert_delivery (event_id, rule_id, device, url, secret, body, idempotency_key, status, next_attempt_at,
                                        deadline, updated_at, folded)
            SELECT event_id, rule_id, device, url, CASE WHEN has_secret THEN secret END, body, idempotency_key, 'pending', \(now),
                   deadline, \(now), folded
            FROM unnest(\(latest.map(\.eventID))::int8[], \(latest.map(\.pair.ruleID))::int8[], \(latest.map(\.pair.device))::text[],
                        \(latest.map(\.delivery.url))::text[], \(latest.map { $0.delivery.secret ?? "" })::text[],
                        \(latest.map { $0.delivery.secret != nil })::bool[], \(latest.map(\.delivery.body))::text[],
                        \(latest.map(\.delivery.idempotencyKey))::text[], \(latest.map(\.delivery.deadline))::int8[],
                        \(rows.map(\.folded))::int8[])
                 WITH ORDINALITY AS t(event_id, rule_id, device, url, secret, has_secret, body, idempotency_key, deadline, folded, position)
            ORDER BY position
            """)
    }

    // MARK: History and deliveries

    public func alertHistory(limit: Int) async throws -> (events: [AlertEventRecord], deliveries: [AlertDelivery]) {
        try await read { sql in
            let events = try await sql.rows(
                "SELECT id, rule_id, device, state, value, ts, starts_at, recorded_at FROM alert_event ORDER BY id DESC LIMIT \(limit)",
                as: (Int64, Int64, String, String, Double?, Int64, Int64, Int64).self
            ).map { id, rule, device, state, value, ts, startsAt, recordedAt in
                AlertEventRecord(
                    id: id,
                    transition: AlertTransition(
                        ruleID: rule, device: device, state: AlertTransition.State(rawValue: state) ?? .firing, value: value, ts: ts,
                        startsAt: startsAt),
                    recordedAt: recordedAt)
            }
            let deliveries = try await Self.deliveries(
                PostgresQuery(unsafeSQL: "\(Self.deliveryQuery) ORDER BY id DESC LIMIT $1", binds: Self.binds(Int64(limit))), sql)
            return (events, deliveries)
        }
    }

    public func dueDeliveries(now: Int64, limit: Int) async throws -> [AlertDelivery] {
        try await read { sql in
            try await Self.deliveries(
                PostgresQuery(
                    unsafeSQL: """
                        \(Self.deliveryQuery) d WHERE d.status = 'pending' AND d.next_attempt_at <= $1 AND NOT EXISTS (
                            SELECT 1 FROM alert_delivery o
                            WHERE o.rule_id = d.rule_id AND o.device = d.device AND o.status = 'pending' AND o.id < d.id)
                        ORDER BY d.next_attempt_at, d.id LIMIT $2
                        """,
                    binds: Self.binds(now, Int64(limit))), sql)
        }
    }

    public func nextDeliveryDue() async throws -> Int64? {
        try await read { sql in
            try await sql.value("SELECT min(next_attempt_at) FROM alert_delivery WHERE status = 'pending'", as: Int64.self)
        }
    }

    public func recordDeliveryOutcome(id: Int64, outcome: DeliveryOutcome) async throws {
        let now = EpochClock.nowMs()
        try await write { sql in
            switch outcome {
            case .delivered:
                try await sql.run(
                    "UPDATE alert_delivery SET status = 'delivered', attempts = attempts + 1, last_error = NULL, updated_at = \(now) WHERE id = \(id) AND status = 'pending'")
            case .retry(let at, let error):
                try await sql.run(
                    "UPDATE alert_delivery SET attempts = attempts + 1, next_attempt_at = \(at), last_error = \(error), updated_at = \(now) WHERE id = \(id) AND status = 'pending'")
            case .dead(let error):
                try await sql.run(
                    "UPDATE alert_delivery SET status = 'dead', attempts = attempts + 1, last_error = \(error), updated_at = \(now) WHERE id = \(id) AND status = 'pending'")
            }
        }
    }

    public func redeliver(id: Int64, deadline: Int64) async throws -> Bool {
        let now = EpochClock.nowMs()
        return try await write { sql in
            try await sql.count(
                """
                UPDATE alert_delivery SET status = 'pending', next_attempt_at = \(now), deadline = \(deadline), updated_at = \(now)
                WHERE id = \(id) AND status = 'dead' RETURNING 1
                """) > 0
        }
    }

    public func deliveryCounts() async throws -> DeliveryCounts {
        try await read { sql in
            var counts: [AlertDelivery.Status: Int] = [:]
            for (status, count) in try await sql.rows("SELECT status, count(*)::int8 FROM alert_delivery GROUP BY status", as: (String, Int64).self) {
                if let status = AlertDelivery.Status(rawValue: status) { counts[status] = Int(count) }
            }
            let oldest = try await sql.value(
                "SELECT min(e.recorded_at) FROM alert_delivery d JOIN alert_event e ON e.id = d.event_id WHERE d.status = 'pending'",
                as: Int64.self)
            let folded = try await sql.value("SELECT coalesce(sum(folded), 0)::int8 FROM alert_delivery", as: Int64.self) ?? 0
            return DeliveryCounts(byStatus: counts, oldestPending: oldest, folded: Int(folded))
        }
    }

    public func deleteAlertHistory(before: Int64, maxRows: Int) async throws -> Int {
        try await write { sql in
            try await sql.count(
                """
                DELETE FROM alert_event WHERE id IN (
                    SELECT e.id FROM alert_event e WHERE e.recorded_at < \(before) AND NOT EXISTS (
                        SELECT 1 FROM alert_delivery d WHERE d.event_id = e.id AND d.status = 'pending')
                    ORDER BY e.id LIMIT \(maxRows)) RETURNING 1
                """)
        }
    }

    // MARK: Rows

    private static func columns(of condition: AlertCondition) -> (String, Double?, Int64, Double?, Int64?) {
        switch condition {
        case .threshold(let t): (t.direction.rawValue, t.limit, t.forMs, t.clearAt, nil)
        case .offline(let afterMs): ("offline", nil, 0, nil, afterMs)
        }
    }

    private static let deliveryQuery = """
        SELECT id, event_id, rule_id, url, secret, body, idempotency_key, status, attempts, next_attempt_at, deadline, last_error,
            updated_at, folded, device
        FROM alert_delivery
        """

    private static func deliveries(_ query: PostgresQuery, _ sql: SQLSession) async throws -> [AlertDelivery] {
        try await sql.rows(
            query, as: (Int64, Int64, Int64, String, String?, String, String, String, Int64, Int64, Int64, String?, Int64, Int64, String).self
        ).map { id, event, rule, url, secret, body, key, status, attempts, next, deadline, error, updated, folded, device in
            AlertDelivery(
                id: id, eventID: event, ruleID: rule, url: url, secret: secret, body: body, idempotencyKey: key,
                status: AlertDelivery.Status(rawValue: status) ?? .pending, attempts: Int(attempts), nextAttemptAt: next,
                deadline: deadline, lastError: error, updatedAt: updated, folded: Int(folded), device: device)
        }
    }
}
