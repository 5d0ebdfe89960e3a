import Synchronization
import TelehubCore

/// Requests waiting for a command to change (`POST …/commands?wait=`), woken
/// when this hub stores a change of it, so an answer is returned within the
/// commit, not the next poll. Changes stored through another hub are found by
/// polling the store (`CommandCenter.waitUntilFinal`).
final class CommandWaiters: Sendable {
    private struct State {
        var waiting: [String: [Int: Wake]] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    /// A wake for changes of command `id`, registered before the caller
    /// looks at the store, so a change in between is not missed.
    func register(_ id: String) -> (token: Int, wake: Wake) {
        let wake = Wake()
        let token = state.withLock { state in
            defer { state.nextID += 1 }
            state.waiting[id, default: [:]][state.nextID] = wake
            return state.nextID
        }
        return (token, wake)
    }

    func unregister(_ id: String, token: Int) {
        state.withLock { state in
            state.waiting[id]?[token] = nil
            if state.waiting[id]?.isEmpty == true { state.waiting[id] = nil }
        }
    }

    /// These commands changed (stored).
    func changed(_ ids: some Sequence<String>) {
        let wakes = state.withLock { state in ids.flatMap { state.waiting[$0].map { Array($0.values) } ?? [] } }
        wakes.forEach { $0.signal() }
    }
}
