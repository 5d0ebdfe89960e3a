import TelehubStore

/// The contract's retry rule for webhook deliveries: retry timeouts,
/// connection errors, 408, 429 and 5xx with exponential backoff (1 s doubling
/// to 5 min, or `--webhook-retry-max-ms`) and full jitter, until the
/// delivery's deadline; any other answer outside 2xx is final.
enum WebhookRetry {
    static let firstDelayMs: Int64 = 1000
    static let maxDelayMs: Int64 = 300_000

    static func outcome(status: Int, attempts: Int, deadline: Int64, now: Int64, maxDelayMs: Int64 = maxDelayMs) -> DeliveryOutcome {
        if (200..<300).contains(status) { return .delivered }
        let retryable = status == 408 || status == 429 || (500..<600).contains(status)
        guard retryable else { return .dead(error: "HTTP \(status)") }
        return retry("HTTP \(status)", attempts: attempts, deadline: deadline, now: now, maxDelayMs: maxDelayMs)
    }

    static func outcome(error: String, attempts: Int, deadline: Int64, now: Int64, maxDelayMs: Int64 = maxDelayMs) -> DeliveryOutcome {
        retry(String(error.prefix(300)), attempts: attempts, deadline: deadline, now: now, maxDelayMs: maxDelayMs)
    }

    private static func retry(_ error: String, attempts: Int, deadline: Int64, now: Int64, maxDelayMs: Int64) -> DeliveryOutcome {
        let at = now + delay(afterAttempts: attempts, maxDelayMs: maxDelayMs)
        guard at <= deadline else { return .dead(error: "\(error); gave up after \(attempts) attempts") }
        return .retry(at: at, error: error)
    }

    /// Full jitter: uniformly random up to the capped exponential delay.
    static func delay<Generator: RandomNumberGenerator>(
        afterAttempts attempts: Int, maxDelayMs: Int64 = maxDelayMs, using generator: inout Generator
    ) -> Int64 {
        let cap = min(maxDelayMs, firstDelayMs << Int64(min(max(attempts - 1, 0), 20)))
        return Int64.random(in: 0...cap, using: &generator)
    }

    static func delay(afterAttempts attempts: Int, maxDelayMs: Int64 = maxDelayMs) -> Int64 {
        var generator = SystemRandomNumberGenerator()
        return delay(afterAttempts: attempts, maxDelayMs: maxDelayMs, using: &generator)
    }
}
