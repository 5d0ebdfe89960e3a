import Synchronization
import TelehubCore

/// A token bucket per device, counted in readings. Shared by every WebSocket
/// connection and by HTTP ingest, so a device cannot escape its limit by
/// opening more connections. Over the limit a message is refused with a retryable
/// `rate_limited` and the wait it needs: never silently dropped.
final class RateLimiter: Sendable {
    /// Readings per second a device may sustain; 0 turns limiting off.
    let rate: Double
    /// Readings a device may send at once after a quiet period.
    let burst: Double
    private let buckets = Mutex<[Int64: TokenBucket]>([:])

    init(readingsPerSecond: Int, burst: Int) {
        self.rate = Double(max(0, readingsPerSecond))
        self.burst = Double(max(1, burst))
    }

    /// - Returns: nil when admitted, else the rejection to send.
    func admit(deviceID: Int64, readings: Int, seq: Int64?, now: ContinuousClock.Instant = .now) -> IngestRejection? {
        guard rate > 0 else { return nil }
        let wait = buckets.withLock { buckets -> Duration? in
            var bucket = buckets[deviceID] ?? TokenBucket(rate: rate, burst: burst, now: now)
            defer { buckets[deviceID] = bucket }
            return bucket.take(Double(readings), at: now)
        }
        guard let wait else { return nil }
        let waitMs = Int(wait.milliseconds)
        return IngestRejection(
            .rateLimited, "over \(Int(rate)) readings/s; send again in \(waitMs) ms", seq: seq, retryAfterMs: max(1, waitMs))
    }
}
