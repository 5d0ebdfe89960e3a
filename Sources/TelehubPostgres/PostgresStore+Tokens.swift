import NIOCore
import PostgresNIO
public import TelehubCore
public import TelehubStore

extension PostgresStore {
    public func createToken(_ token: NewToken) async throws -> TokenRecord {
        let now = EpochClock.nowMs()
        let hash = ByteBuffer(bytes: token.hash)
        let id = try await write { sql -> Int64 in
            var deviceID: Int64?
            if let device = token.device { deviceID = try await Self.deviceID(named: device, sql, now: now) }
            guard
                let id = try await sql.value(
                    """
                    INSERT INTO token (kind, device_id, label, hash, created_at, expires_at)
                    VALUES (\(token.kind.rawValue), \(deviceID), \(token.label), \(hash), \(now), \(token.expiresAt)) RETURNING id
                    """, as: Int64.self)
            else { throw PostgresStoreError.client("no token id returned") }
            return id
        }
        return token.record(id: id, createdAt: now)
    }

    public func tokens() async throws -> [TokenRecord] {
        try await read { sql in
            try await Self.storedTokens(PostgresQuery(unsafeSQL: "\(Self.tokenQuery) ORDER BY t.id"), sql).map(\.record)
        }
    }

    public func revokeToken(id: Int64) async throws -> Bool {
        let now = EpochClock.nowMs()
        return try await write { sql in
            try await sql.count("UPDATE token SET revoked_at = coalesce(revoked_at, \(now)) WHERE id = \(id) RETURNING 1") > 0
        }
    }

    public func token(hash: [UInt8]) async throws -> StoredToken? {
        var query = PostgresQuery(unsafeSQL: "\(Self.tokenQuery) WHERE t.hash = $1")
        query.binds.append(ByteBuffer(bytes: hash))
        let finished = query
        return try await read { sql in try await Self.storedTokens(finished, sql).first }
    }

    public func endedTokens(among ids: Set<Int64>, at now: Int64) async throws -> Set<Int64> {
        guard !ids.isEmpty else { return [] }
        let list = Array(ids)
        let live = try await read { sql in
            try await sql.column(
                """
                SELECT id FROM token WHERE id = ANY(\(list)::int8[]) AND revoked_at IS NULL
                AND (expires_at IS NULL OR expires_at > \(now))
                """, as: Int64.self)
        }
        return ids.subtracting(live)
    }

    // MARK: - Web sessions


    public func createWebSession(hash: [UInt8], tokenID: Int64, expiresAt: Int64) async throws {
        let now = EpochClock.nowMs()
        let key = ByteBuffer(bytes: hash)
        try await write { sql in
            try await sql.run("DELETE FROM web_session WHERE expires_at <= \(now)")
            try await sql.run(
                "INSERT INTO web_session (hash, token_id, created_at, expires_at) VALUES (\(key), \(tokenID), \(now), \(expiresAt))")
            try await sql.run(
                """
                DELETE FROM web_session WHERE token_id = \(tokenID) AND hash <> \(key) AND hash NOT IN (
                    SELECT hash FROM web_session WHERE token_id = \(tokenID) AND hash <> \(key)
                    ORDER BY created_at DESC, expires_at DESC LIMIT \(SessionBounds.maxSessionsPerToken - 1))
                """)
        }
    }

    public func webSessionToken(hash: [UInt8], at now: Int64) async throws -> StoredToken? {
        var query = PostgresQuery(
            unsafeSQL: "\(Self.tokenQuery) JOIN web_session s ON s.token_id = t.id WHERE s.hash = $1 AND s.expires_at > $2")
        query.binds.append(ByteBuffer(bytes: hash))
        query.binds.append(now)
        let finished = query
        return try await read { sql in try await Self.storedTokens(finished, sql).first }
    }

    public func deleteWebSession(hash: [UInt8]) async throws {
        let key = ByteBuffer(bytes: hash)
        try await write { sql in try await sql.run("DELETE FROM web_session WHERE hash = \(key)") }
    }

    public func markTokensUsed(_ usage: [Int64: Int64]) async throws {
        guard !usage.isEmpty else { return }
        let ids = Array(usage.keys)
        let times = ids.map { usage[$0]! }
        try await write { sql in
            try await sql.run(
                """
                UPDATE token t SET last_used_at = greatest(coalesce(t.last_used_at, 0), u.at)
                FROM unnest(\(ids)::int8[], \(times)::int8[]) AS u(id, at) WHERE t.id = u.id
                """)
        }
    }

    private static let tokenQuery = """
        SELECT t.id, t.kind, t.device_id, d.name, t.label, t.hash, t.created_at, t.last_used_at, t.expires_at, t.revoked_at
        FROM token t LEFT JOIN device d ON d.id = t.device_id
        """

    private static func storedTokens(_ query: PostgresQuery, _ sql: SQLSession) async throws -> [StoredToken] {
        try await sql.rows(
            query,
            as: (Int64, String, Int64?, String?, String?, ByteBuffer, Int64, Int64?, Int64?, Int64?).self
        ).map { id, kind, deviceID, device, label, hash, createdAt, lastUsedAt, expiresAt, revokedAt in
            let record = TokenRecord(
                id: id, kind: TokenKind(rawValue: kind) ?? .read, device: device, label: label, createdAt: createdAt,
                lastUsedAt: lastUsedAt, expiresAt: expiresAt, revoked: revokedAt != nil)
            return StoredToken(record: record, deviceID: deviceID, hash: Array(hash.readableBytesView))
        }
    }
}
