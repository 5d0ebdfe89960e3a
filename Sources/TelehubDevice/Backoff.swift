/// Reconnect delays: exponential growth with full jitter, reset once a
/// connection has stayed up for a while.
///
/// Full jitter (a uniform random delay between zero and the exponential
/// bound) spreads a fleet's reconnects after the hub restarts, instead of
/// every device knocking at the same instants.
public struct Backoff: Sendable, Equatable {
    public var base: Duration
    public var cap: Duration
    /// A connection that lasted this long counts as stable: the next failure starts from `base` again.
    public var stableAfter: Duration
    public private(set) var attempt = 0

    public init(base: Duration = .milliseconds(500), cap: Duration = .seconds(30), stableAfter: Duration = .seconds(30)) {
        self.base = base
        self.cap = cap
        self.stableAfter = stableAfter
    }

    /// The upper bound of the next delay: `min(cap, base × 2^attempt)`.
    public var bound: Duration {
        let factor = 1 << min(attempt, 30)
        return min(cap, base * factor)
    }

    /// The delay before the next attempt, uniformly random in `0...bound`.
    public mutating func next(using generator: inout some RandomNumberGenerator) -> Duration {
        let limit = bound
        attempt += 1
        let milliseconds = Int64(limit / .milliseconds(1))
        return .milliseconds(Int64.random(in: 0...max(0, milliseconds), using: &generator))
    }

    /// The delay after a failure that retrying soon cannot cure (a refused
    /// token, a wrong address): between half the cap and the cap, still
    /// jittered, so a misconfigured fleet does not hammer the hub.
    public mutating func nextAfterPermanentFailure(using generator: inout some RandomNumberGenerator) -> Duration {
        attempt += 1
        let milliseconds = Int64(cap / .milliseconds(1))
        return .milliseconds(Int64.random(in: (milliseconds / 2)...max(milliseconds / 2, milliseconds), using: &generator))
    }

    /// Called when a connection ends after `lifetime`.
    public mutating func connectionEnded(after lifetime: Duration) {
        if lifetime >= stableAfter { attempt = 0 }
    }
}
