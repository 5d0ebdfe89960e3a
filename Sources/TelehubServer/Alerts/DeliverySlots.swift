import Synchronization

/// Which deliveries are being attempted: at most `total` at once and
/// `perReceiver` to one host and port, so a receiver that hangs holds only
/// its own slots. Receivers whose last attempt ran out of time are slow, and
/// slow receivers together hold at most half the slots: however many of
/// them there are, the other half stays free for everyone else.
final class DeliverySlots: Sendable {
    private struct State {
        var ids: Set<Int64> = []
        var byReceiver: [String: Int] = [:]
        /// Attempts that ended since the last `newRound()`: a list of due
        /// deliveries read before the outcome was recorded still holds them.
        var finished: Set<Int64> = []
        var slow: Set<String> = []
        var slowHeld = 0
    }

    private let state = Mutex(State())
    let total: Int
    let perReceiver: Int
    /// Slots all slow receivers together may hold: half, and at least one
    /// (with a single slot there is nothing to keep back).
    var slowShare: Int { max(1, total / 2) }
    /// Receivers remembered as slow; past it the oldest knowledge is dropped.
    static let maxSlowReceivers = 10_000

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
    ///   the round began, or no slot is free for its receiver.
    func take(_ id: Int64, receiver: String) -> Bool {
        state.withLock { state in
            let slow = state.slow.contains(receiver)
            guard !state.ids.contains(id), !state.finished.contains(id), state.ids.count < total,
                state.byReceiver[receiver, default: 0] < perReceiver,
                !slow || state.slowHeld < slowShare
            else {
                return false
            }
            state.ids.insert(id)
            state.byReceiver[receiver, default: 0] += 1
            if slow { state.slowHeld += 1 }
            return true
        }
    }

    func give(_ id: Int64, receiver: String) {
        state.withLock { state in
            guard state.ids.remove(id) != nil else { return }
            state.finished.insert(id)
            state.byReceiver[receiver, default: 1] -= 1
            if state.byReceiver[receiver] == 0 { state.byReceiver[receiver] = nil }
            state.slowHeld = Self.slowHeld(state)
        }
    }

    /// The receiver's attempt ran out of time: it is slow until it answers in time.
    func noteSlow(_ receiver: String) {
        state.withLock { state in
            if state.slow.count >= Self.maxSlowReceivers { state.slow.removeAll() }
            state.slow.insert(receiver)
            state.slowHeld = Self.slowHeld(state)
        }
    }

    func noteAnswered(_ receiver: String) {
        state.withLock { state in
            guard state.slow.remove(receiver) != nil else { return }
            state.slowHeld = Self.slowHeld(state)
        }
    }

    /// Slots held now by receivers known to be slow.
    private static func slowHeld(_ state: State) -> Int {
        state.byReceiver.reduce(0) { $0 + (state.slow.contains($1.key) ? $1.value : 0) }
    }

    var slowHeldNow: Int { state.withLock { $0.slowHeld } }
}
