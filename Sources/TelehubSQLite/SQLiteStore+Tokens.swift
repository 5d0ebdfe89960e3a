import Foundation
import GRDB
public import TelehubCore
public import TelehubStore

extension SQLiteStore {
    public func createToken(_ token: NewToken) async throws -> TokenRecord {
        let now = EpochClock.nowMs()
        let id = try await pool.write { db -> Int64 in
            let deviceID = try token.device.map { try Self.deviceID(named: $0, db, now: now) }
            try db.execute(
                sql: """
                    INSERT INTO token (kind, device_id, label, hash, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [token.kind.rawValue, deviceID, token.label, Data(token.hash), now, token.expiresAt])
            return db.lastInsertedRowID
        }
        return token.record(id: id, createdAt: now)
    }

    public func tokens() async throws -> [TokenRecord] {
        try await pool.read { db in
            try GRDB.Row.fetchAll(db, sql: "\(Self.tokenQuery) ORDER BY t.id").map { Self.storedToken($0).record }
        }
    }

    public func revokeToken(id: Int64) async throws -> Bool {
        let now = EpochClock.nowMs()
        return try await pool.write { db in
            try db.execute(
                sql: "UPDATE token SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?", arguments: [now, id])
            return db.changesCount > 0
        }
    }

    /// Every HTTP request and WebSocket upgrade asks this: read in place on
    /// a connection kept for it (`TokenLookup`), never cached.
    public func token(hash: [UInt8]) async throws -> StoredToken? {
        try tokenNow(hash: hash)
    }

    public func tokenNow(hash: [UInt8]) throws -> StoredToken? {
        try tokens.read { db in
            let statement = try db.cachedStatement(sql: "\(Self.tokenQuery) WHERE t.hash = ?")
            return try GRDB.Row.fetchOne(statement, arguments: [Data(hash)]).map(Self.storedToken)
        }
    }

    public func endedTokens(among ids: Set<Int64>, at now: Int64) async throws -> Set<Int64> {
        let live = try await pool.read { db in
            // One statement per token: SQLite bounds the variables of one statement
            // (32766), and a hub may hold more live connections than that.
            let statement = try db.cachedStatement(
                sql: "SELECT 1 FROM token WHERE id = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)")
            return try ids.filter { id in try Int.fetchOne(statement, arguments: [id, now]) != nil }
        }
        return ids.subtracting(live)
    }

    // MARK: - Web sessions


    public func createWebSession(hash: [UInt8], tokenID: Int64, expiresAt: Int64) async throws {
        let now = EpochClock.nowMs()
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM web_session WHERE expires_at <= ?", arguments: [now])
            try db.execute(
                sql: "INSERT INTO web_session (hash, token_id, created_at, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [Data(hash), tokenID, now, expiresAt])
            try db.execute(
                sql: """
                    DELETE FROM web_session WHERE token_id = ?1 AND hash <> ?2 AND hash NOT IN (
                        SELECT hash FROM web_session WHERE token_id = ?1 AND hash <> ?2
                        ORDER BY created_at DESC, expires_at DESC LIMIT ?3)
                    """, arguments: [tokenID, Data(hash), SessionBounds.maxSessionsPerToken - 1])
        }
    }

    public func webSessionToken(hash: [UInt8], at now: Int64) async throws -> StoredToken? {
        try await pool.read { db in
            try GRDB.Row.fetchOne(
                db,
                sql: "\(Self.tokenQuery) JOIN web_session s ON s.token_id = t.id WHERE s.hash = ? AND s.expires_at > ?",
                arguments: [Data(hash), now]
            ).map(Self.storedToken)
        }
    }

    public func deleteWebSession(hash: [UInt8]) async throws {
        try await pool.write { db in
            try db.execute(sql: "DELETE FROM web_session WHERE hash = ?", arguments: [Data(hash)])
        }
    }

    public func markTokensUsed(_ usage: [Int64: Int64]) async throws {
        guard !usage.isEmpty else { return }
        try await pool.write { db in
            for (id, time) in usage {
                try db.execute(
                    sql: "UPDATE token SET last_used_at = max(coalesce(last_used_at, 0), ?) WHERE id = ?",
                    arguments: [time, id])
            }
        }
    }

    /// `storedToken` reads its columns by position, in this order.
    private static let tokenQuery = """
        SELECT t.id, t.kind, t.device_id, d.name AS device, t.label, t.hash, t.created_at, t.last_used_at,
               t.expires_at, t.revoked_at
        FROM token t LEFT JOIN device d ON d.id = t.device_id
        """

    /// By column position (the order of `tokenQuery`): every request's
    /// lookup reads this row, and a lookup by name folds each name's case.
    private static func storedToken(_ row: GRDB.Row) -> StoredToken {
        let hash: Data = row[5]
        let record = TokenRecord(
            id: row[0], kind: TokenKind(rawValue: row[1]) ?? .read, device: row[3], label: row[4],
            createdAt: row[6], lastUsedAt: row[7], expiresAt: row[8], revoked: (row[9] as Int64?) != nil)
        return StoredToken(record: record, deviceID: row[2], hash: Array(hash))
    }
}
