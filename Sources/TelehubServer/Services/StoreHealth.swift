import Synchronization

/// Whether the store could write at its last attempt, for `/healthz`.
///
/// The ingest actor reports every commit; a fault (locked, full, I/O) is kept
/// until a write succeeds again, so `/healthz` can name it at once.
final class StoreHealth: Sendable {
    private let fault = Mutex<String?>(nil)

    /// Why the last write failed, or nil.
    var currentFault: String? { fault.withLock { $0 } }

    func failed(_ reason: String) {
        fault.withLock { $0 = reason }
    }

    func succeeded() {
        fault.withLock { $0 = nil }
    }
}
