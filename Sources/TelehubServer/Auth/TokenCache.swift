import TelehubCore
import TelehubStore

/// Tokens found in the store a moment ago, by hash, so that a device posting
/// over HTTP is not looked up in the database at every request: that lookup
/// (a hop to a reader thread and back, a statement prepared) was about 6% of
/// the hub's CPU on 100-line bodies through `/write` (`perf record -g`).
///
/// An entry is kept `lifetime`, the hub's `--token-check-interval-ms`, so a
/// token revoked by the CLI or another hub stops working over HTTP no later
/// than it stops a live WebSocket connection. Only tokens the store knew are
/// kept: a wrong token always reaches the store and the failed-login limit.
/// Whether the token is live (expiry) is decided at every use, from the entry.
struct TokenCache {
    let lifetime: Duration
    let capacity: Int
    private var entries: [[UInt8]: (token: StoredToken, until: ContinuousClock.Instant)] = [:]

    init(lifetime: Duration, capacity: Int = 4096) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The token stored under `hash`, if it was read less than `lifetime` ago.
    mutating func token(hash: [UInt8], now: ContinuousClock.Instant) -> StoredToken? {
        guard let entry = entries[hash] else { return nil }
        guard now < entry.until else {
            entries[hash] = nil
            return nil
        }
        return entry.token
    }

    /// Keeps `token` for `lifetime`. A full cache first drops what has
    /// lapsed, and if nothing has, starts again empty: a flood of distinct
    /// valid tokens costs lookups, never memory.
    mutating func keep(_ token: StoredToken, now: ContinuousClock.Instant) {
        if entries.count >= capacity, entries[token.hash] == nil {
            entries = entries.filter { now < $0.value.until }
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
        }
        entries[token.hash] = (token, now + lifetime)
    }

    /// Drops the tokens the revocation watch found ended, so HTTP refuses
    /// them from the moment their connections are closed.
    mutating func forget(tokenIDs: Set<Int64>) {
        entries = entries.filter { !tokenIDs.contains($0.value.token.record.id) }
    }

    var count: Int { entries.count }
}
