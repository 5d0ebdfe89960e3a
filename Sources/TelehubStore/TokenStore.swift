public import TelehubCore

/// Tokens (only their hashes) and dashboard sessions, for the CLI and
/// authentication.
public protocol TokenStore: Sendable {
    /// Stores a token the caller minted (only its hash), creating its device
    /// when needed.
    func createToken(_ token: NewToken) async throws -> TokenRecord
    func tokens() async throws -> [TokenRecord]
    /// - Returns: false when no token has this id.
    func revokeToken(id: Int64) async throws -> Bool
    /// The token whose SHA-256 hash this is, with its device, whatever its state.
    func token(hash: [UInt8]) async throws -> StoredToken?
    /// Which of these tokens are revoked, expired or deleted at `now`.
    func endedTokens(among ids: Set<Int64>, at now: Int64) async throws -> Set<Int64>
    /// Stores a dashboard session: the hash of its random id, for a read token.
    func createWebSession(hash: [UInt8], tokenID: Int64, expiresAt: Int64) async throws
    /// The token behind a session that has not expired, whatever the token's state.
    func webSessionToken(hash: [UInt8], at now: Int64) async throws -> StoredToken?
    /// Ends a session (logout).
    func deleteWebSession(hash: [UInt8]) async throws
    /// Records when tokens were last used; callers coalesce these writes.
    func markTokensUsed(_ usage: [Int64: Int64]) async throws
}

/// A store that finds a token without waiting: an embedded database read in
/// place. An event loop may check a credential itself through it, where a
/// network round trip (PostgreSQL) must not block the loop.
public protocol ImmediateTokenLookup: Sendable {
    /// The same answer as `TokenStore.token(hash:)`, on the calling thread.
    func tokenNow(hash: [UInt8]) throws -> StoredToken?
}
