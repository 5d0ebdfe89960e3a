import Synchronization

/// Which deliveries are being attempted: at most `total` at once and
/// `perReceiver` to one host and port, so a receiver that hangs holds only
/// its own slots and never those of the others.
final class DeliverySlots: Sendable {
    private struct State {
        var ids: Set<Int64> = []
        var byReceiver: [String: Int] = [:]
        /// Attempts that ended since the last `newRound()`: a list of due
        /// deliveries read before the outcome was recorded still holds them.
        var finished: Set<Int64> = []
    }

    private let state = Mutex(State())
    let total: Int
    let perReceiver: Int

    init(total: Int, perReceiver: Int) {
        self.total = total
        self.perReceiver = perReceiver
    }

    /// Call just before reading the due deliveries: outcomes recorded before
    /// then are in what the read returns.
    func newRound() {
        state.withLock { $0.finished.removeAll() }
    }

    /// - Returns: false when the delivery is in flight, was attempted since
    ///   the round began, or no slot is free.
    func take(_ id: Int64, receiver: String) -> Bool {
        state.withLock { state in
            guard !state.ids.contains(id), !state.finished.contains(id), state.ids.count < total,
                state.byReceiver[receiver, default: 0] < perReceiver
            else {
                return false
            }
            state.ids.insert(id)
            state.byReceiver[receiver, default: 0] += 1
            return true
        }
    }

    func give(_ id: Int64, receiver: String) {
        state.withLock { state in
            guard state.ids.remove(id) != nil else { return }
            state.finished.insert(id)
            state.byReceiver[receiver, default: 1] -= 1
            if state.byReceiver[receiver] == 0 { state.byReceiver[receiver] = nil }
        }
    }
}
