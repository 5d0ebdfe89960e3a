import Synchronization

/// Whether this hub runs the work that must run once for all hubs on a
/// shared store: the offline watch (else every hub would record a device's
/// silence) and webhook delivery (else every hub would send each call). A
/// hub on its own always leads; on a shared store the one that holds the
/// store's leader lock does (`SharedStream.leadership()`), and another takes
/// over within a few seconds when it dies.
final class Leadership: Sendable {
    private let leading: Mutex<Bool>

    init(leading: Bool) {
        self.leading = Mutex(leading)
    }

    var isLeader: Bool { leading.withLock { $0 } }

    func set(_ value: Bool) {
        leading.withLock { $0 = value }
    }
}
