import Synchronization
import TelehubAuth
public import TelehubCore
import TelehubStore

/// Verifies presented tokens and dashboard sessions against the store: only
/// SHA-256 hashes are kept, and the final comparison runs in constant time.
/// Failed attempts are counted per client address (`--auth-fail-limit`).
public final class Authenticator: Sendable {
    let store: any TokenStore
    let usage: TokenUsageRecorder
    /// The hash of the per-process read token printed by `serve`, never stored.
    let sessionTokenHash: [UInt8]?
    private let failures: Mutex<FailedAuthTable>
    /// Sessions made from the per-process token live as long as the process,
    /// so they are kept here rather than in the store: hash to expiry.
    private let processSessions = Mutex<[[UInt8]: Int64]>([:])

    /// A dashboard session lasts at most this long (and never past its token).
    static let sessionLifetimeMs: Int64 = 30 * 86_400_000
    static let maxProcessSessions = 1000

    init(store: any TokenStore, usage: TokenUsageRecorder, sessionReadToken: String?, failures: FailedAuthTable) {
        self.store = store
        self.usage = usage
        self.sessionTokenHash = sessionReadToken.map(TokenSecret.hash)
        self.failures = Mutex(failures)
    }

    /// The identity behind `token` if it is live and grants `needed` (a
    /// control token passes where a read token is needed); the identity
    /// carries the token's own kind.
    public func identify(_ token: String?, as needed: TokenKind) async -> TokenIdentity? {
        switch presented(token, as: needed) {
        case .refused: return nil
        case .identified(let identity): return identity
        case .stored(let hash, let kind):
            return verify(try? await store.token(hash: hash), hash: hash, kind: kind, granting: needed)
        }
    }

    /// `identify` without waiting, for an event loop: nil when the store
    /// cannot look a token up in place (then the caller takes the awaiting
    /// path), `.some(nil)` when the token is not live or does not grant `needed`.
    func identifyNow(_ token: String, as needed: TokenKind) -> TokenIdentity?? {
        guard let immediate = store as? any ImmediateTokenLookup else { return nil }
        switch presented(token, as: needed) {
        case .refused: return .some(nil)
        case .identified(let identity): return .some(identity)
        case .stored(let hash, let kind):
            let found: StoredToken?
            do {
                found = try immediate.tokenNow(hash: hash)
            } catch {
                return nil  // the awaiting path meets the same error and answers it
            }
            return .some(verify(found, hash: hash, kind: kind, granting: needed))
        }
    }

    private enum Presented {
        case refused
        /// The per-process read token `serve` printed.
        case identified(TokenIdentity)
        /// To be looked up by its hash.
        case stored(hash: [UInt8], kind: TokenKind)
    }

    /// What a presented token is before any lookup: too long, of no kind or
    /// one that cannot grant `needed` is refused without one.
    private func presented(_ token: String?, as needed: TokenKind) -> Presented {
        guard let token, token.utf8.count <= 256, let kind = TokenKind(token: token), kind.grants(needed) else {
            return .refused
        }
        let hash = TokenSecret.hash(token)
        if kind == .read, let sessionTokenHash, Crypto.constantTimeEquals(hash, sessionTokenHash) {
            return .identified(TokenIdentity(tokenID: 0, kind: .read, deviceID: nil, deviceName: nil))
        }
        return .stored(hash: hash, kind: kind)
    }

    private func verify(_ stored: StoredToken?, hash: [UInt8], kind: TokenKind, granting needed: TokenKind) -> TokenIdentity? {
        guard let stored, Crypto.constantTimeEquals(stored.hash, hash), stored.record.kind == kind else { return nil }
        return live(stored, granting: needed, at: EpochClock.nowMs())
    }

    private func live(_ stored: StoredToken, granting needed: TokenKind, at now: Int64) -> TokenIdentity? {
        guard stored.record.kind.grants(needed), stored.record.isLive(at: now) else { return nil }
        usage.note(tokenID: stored.record.id, at: now)
        return TokenIdentity(
            tokenID: stored.record.id, kind: stored.record.kind, deviceID: stored.deviceID, deviceName: stored.record.device,
            expiresAt: stored.record.expiresAt)
    }

    // MARK: - Failed attempts

    /// Milliseconds until `address` may authenticate again, or nil.
    func retryAfterMs(address: String) -> Int64? {
        failures.withLock { $0.retryAfterMs(address, now: EpochClock.nowMs()) }
    }

    func recordFailure(address: String) {
        failures.withLock { $0.recordFailure(address, now: EpochClock.nowMs()) }
    }

    // MARK: - Dashboard sessions

    /// Starts a session for a read or control token; the session may do what
    /// its token may. - Returns: the cookie value and its lifetime in seconds.
    func startSession(for identity: TokenIdentity) async throws -> (value: String, maxAgeSeconds: Int) {
        let now = EpochClock.nowMs()
        let expiresAt = min(now + Self.sessionLifetimeMs, identity.expiresAt ?? .max)
        let secret = SessionSecret.generate()
        if identity.tokenID == 0 {
            processSessions.withLock { sessions in
                if sessions.count >= Self.maxProcessSessions {
                    sessions = sessions.filter { $0.value > now }
                    if sessions.count >= Self.maxProcessSessions, let oldest = sessions.min(by: { $0.value < $1.value }) {
                        sessions[oldest.key] = nil
                    }
                }
                sessions[secret.hash] = expiresAt
            }
        } else {
            try await store.createWebSession(hash: secret.hash, tokenID: identity.tokenID, expiresAt: expiresAt)
        }
        return (secret.value, Int(max(1, (expiresAt - now) / 1000)))
    }

    /// The identity behind a session cookie (of the kind of the token it was
    /// made from), while the session and its token are live.
    func identifySession(_ value: String?) async -> TokenIdentity? {
        guard let value, let hash = SessionSecret.hash(value) else { return nil }
        let now = EpochClock.nowMs()
        if let expiry = processSessions.withLock({ $0[hash] }) {
            return expiry > now ? TokenIdentity(tokenID: 0, kind: .read, deviceID: nil, deviceName: nil) : nil
        }
        guard let stored = try? await store.webSessionToken(hash: hash, at: now) else { return nil }
        return live(stored, granting: .read, at: now)
    }

    /// Logout: the session id is forgotten, so a copy of the cookie is worthless.
    func endSession(_ value: String?) async {
        guard let value, let hash = SessionSecret.hash(value) else { return }
        processSessions.withLock { $0[hash] = nil }
        try? await store.deleteWebSession(hash: hash)
    }
}
