import Synchronization

/// Wakes the tasks waiting for something to change (new work, room in a
/// queue, a reply), or lets them go at their deadline, whichever comes first.
/// A signal while nobody waits is kept for the next wait, so a change between
/// looking and waiting is never missed. The hub and the device SDK wait on
/// this one primitive instead of each racing a sleep against a continuation.
public final class Wake: Sendable {
    private struct State {
        var signaled = false
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waits whose deadline came before they were registered.
        var expired: Set<Int> = []
        var nextID = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Wakes every task waiting now, or, when none is, the next to wait.
    public func signal() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            guard !state.waiters.isEmpty else {
                state.signaled = true
                return []
            }
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        waiters.forEach { $0.resume() }
    }

    /// Forgets a signal that came while nobody waited: for a waiter that
    /// checks its condition after this and would otherwise wake for a change
    /// it has already seen.
    public func clear() {
        state.withLock { $0.signaled = false }
    }

    /// Returns at the next signal (at once if one came since the last wait),
    /// at `deadline`, or when the task is cancelled.
    public func wait(until deadline: ContinuousClock.Instant) async {
        let id = state.withLock { state -> Int in
            defer { state.nextID += 1 }
            return state.nextID
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                try? await Task.sleep(until: deadline)
                self.release(id)
            }
            await withCheckedContinuation { continuation in
                let now = state.withLock { state -> Bool in
                    if state.expired.remove(id) != nil { return true }
                    if state.signaled {
                        state.signaled = false
                        return true
                    }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
            group.cancelAll()
        }
        // The sleeper has finished: forget a mark it left after a signal won.
        state.withLock { _ = $0.expired.remove(id) }
    }

    /// The deadline of wait `id` came: resume it, or, when it is not
    /// registered yet, mark it so that it returns as soon as it is.
    private func release(_ id: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiters.removeValue(forKey: id) else {
                state.expired.insert(id)
                return nil
            }
            return waiter
        }
        waiter?.resume()
    }
}

/// The result of `operation`, or nil when `deadline` comes first; the
/// operation is then cancelled. For "wait for this, but not forever".
///
/// It returns once the operation has ended, so the operation must end when
/// cancelled: `Task.value`, for one, does not (cancel that task instead).
public func firstOf<Value: Sendable>(
    _ operation: @escaping @Sendable () async -> Value, orDeadline deadline: ContinuousClock.Instant
) async -> Value? {
    await withTaskGroup(of: Value?.self) { group in
        group.addTask { await operation() }
        group.addTask {
            try? await Task.sleep(until: deadline)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}
