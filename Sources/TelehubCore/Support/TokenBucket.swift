/// A token bucket: `rate` tokens a second, at most `burst` saved up. The
/// hub's per-device rate limit and the device SDK's sending pace are both one.
public struct TokenBucket: Sendable, Equatable {
    /// Tokens added per second; more than zero.
    public let rate: Double
    /// Tokens saved up at most.
    public let burst: Double
    private var tokens: Double
    private var updated: ContinuousClock.Instant

    /// Starts full.
    public init(rate: Double, burst: Double, now: ContinuousClock.Instant = .now) {
        self.rate = max(0.001, rate)
        self.burst = max(1, burst)
        self.tokens = self.burst
        self.updated = now
    }

    /// The tokens there are at `now`.
    public mutating func available(at now: ContinuousClock.Instant) -> Double {
        if now > updated {
            tokens = min(burst, tokens + (now - updated) / .seconds(1) * rate)
            updated = now
        }
        return tokens
    }

    /// Takes `cost` tokens if there are enough (a cost above `burst` needs a
    /// full bucket). - Returns: nil when taken, else how long until they are there.
    public mutating func take(_ cost: Double, at now: ContinuousClock.Instant) -> Duration? {
        let cost = min(cost, burst)
        let shortfall = cost - available(at: now)
        guard shortfall > 0 else {
            tokens -= cost
            return nil
        }
        return .milliseconds(Int64((shortfall / rate * 1000).rounded(.up)))
    }

    /// Takes `cost` tokens whether or not they are there: the debt is waited
    /// off before anything more is available (a pace, not a limit).
    public mutating func spend(_ cost: Double, at now: ContinuousClock.Instant) {
        _ = available(at: now)
        tokens -= cost
    }

    /// When `amount` tokens will be there, if nothing else is taken.
    public func instant(whenAvailable amount: Double) -> ContinuousClock.Instant {
        updated + .milliseconds(Int64(max(0, amount - tokens) / rate * 1000) + 1)
    }
}
