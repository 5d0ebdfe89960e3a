import TelehubCore
import TelehubStore

/// Verifies presented tokens against the store: only SHA-256 hashes are kept,
/// and the final comparison runs in constant time.
public struct Authenticator: Sendable {
    let store: any TelemetryStore
    let usage: TokenUsageRecorder
    /// The hash of the per-process read token printed by `serve`, never stored.
    let sessionTokenHash: [UInt8]?

    init(store: any TelemetryStore, usage: TokenUsageRecorder, sessionReadToken: String?) {
        self.store = store
        self.usage = usage
        self.sessionTokenHash = sessionReadToken.map(TokenSecret.hash)
    }

    /// The identity behind `token` if it is live and of the wanted kind.
    public func identify(_ token: String?, as kind: TokenKind) async -> TokenIdentity? {
        guard let token, TokenKind(token: token) == kind else { return nil }
        let hash = TokenSecret.hash(token)
        if kind == .read, let sessionTokenHash, Crypto.constantTimeEquals(hash, sessionTokenHash) {
            return TokenIdentity(tokenID: 0, kind: .read, deviceID: nil, deviceName: nil)
        }
        let now = EpochClock.nowMs()
        guard let stored = try? await store.token(hash: hash),
            Crypto.constantTimeEquals(stored.hash, hash),
            stored.record.kind == kind, stored.record.isLive(at: now)
        else { return nil }
        await usage.note(tokenID: stored.record.id, at: now)
        return TokenIdentity(
            tokenID: stored.record.id, kind: kind, deviceID: stored.deviceID, deviceName: stored.record.device)
    }
}
