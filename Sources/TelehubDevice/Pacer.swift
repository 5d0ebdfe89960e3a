import Synchronization

/// A token bucket in readings: how much may be sent now without exceeding
/// the configured pace.
struct Pacer: Sendable {
    let rate: Double
    let burst: Double
    private var tokens: Double
    private var updated: ContinuousClock.Instant

    init(rate: Double, burst: Double, now: ContinuousClock.Instant = .now) {
        self.rate = max(0.001, rate)
        self.burst = max(1, burst)
        self.tokens = self.burst
        self.updated = now
    }

    mutating func available(at now: ContinuousClock.Instant) -> Double {
        tokens = min(burst, tokens + (now - updated) / .seconds(1) * rate)
        updated = now
        return tokens
    }

    mutating func spend(_ readings: Double, at now: ContinuousClock.Instant) {
        _ = available(at: now)
        tokens -= readings
    }

    /// When `readings` will be available.
    func instant(whenAvailable readings: Double) -> ContinuousClock.Instant {
        updated + .milliseconds(Int64(max(0, readings - tokens) / rate * 1000) + 1)
    }
}

/// Wakes the sender when there is something new: a reading, an ack, a refusal.
///
/// A flag and one waiting continuation under a lock: a signal that comes
/// while nobody waits is kept for the next wait, and a wait that times out
/// leaves nothing behind.
final class Wake: Sendable {
    private struct State {
        var signaled = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func signal() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.signaled = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns at the next signal (or at once if one came since the last wait), or at `deadline`.
    func wait(until deadline: ContinuousClock.Instant) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(until: deadline)
                self.release()
            }
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.signaled {
                        state.signaled = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
            group.cancelAll()
        }
    }

    private func release() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }
}
