import Logging
public import ServiceLifecycle
import Synchronization
import TelehubStore

/// Coalesces "last used" times so that authentication never writes to the
/// database on the request path: one small write every few seconds at most.
/// Noting a use takes a lock, not a hop to an actor: it happens at every
/// authenticated request.
public final class TokenUsageRecorder: Service, Sendable {
    private let store: any TokenStore
    private let interval: Duration
    private let pending = Mutex<[Int64: Int64]>([:])
    private let logger = Logger(label: "telehub.tokens")

    init(store: any TokenStore, interval: Duration = .seconds(5)) {
        self.store = store
        self.interval = interval
    }

    func note(tokenID: Int64, at time: Int64) {
        pending.withLock { $0[tokenID] = max($0[tokenID] ?? 0, time) }
    }

    public func run() async {
        while await sleepUnlessShuttingDown(for: self.interval) {
            await save()
        }
        await save()
    }

    private func save() async {
        let batch = pending.withLock { pending in
            defer { pending = [:] }
            return pending
        }
        guard !batch.isEmpty else { return }
        do {
            try await store.markTokensUsed(batch)
        } catch {
            logger.warning("could not record token use: \(error)")
        }
    }
}
