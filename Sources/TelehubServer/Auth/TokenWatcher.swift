import Logging
import ServiceLifecycle
import TelehubCore
import TelehubStore

/// Closes live connections whose token was revoked or has expired, within
/// `tokenCheckInterval`, even when the revocation came from the CLI writing
/// to the database while the hub runs.
struct TokenWatcher: Service, CustomStringConvertible {
    // Short, so that lifecycle logs do not print the hub's configuration (and its session token).
    var description: String { "TokenWatcher" }

    let hub: Hub
    private let logger = Logger(label: "telehub.tokens")

    func run() async {
        while await sleepUnlessShuttingDown(for: hub.configuration.tokenCheckInterval) {
            await check()
        }
    }

    private func check() async {
        let connected = hub.connections.liveTokenIDs().filter { $0 != 0 }  // 0: the per-process token, not stored
        guard !connected.isEmpty else { return }
        do {
            let ended = try await hub.store.endedTokens(among: connected, at: EpochClock.nowMs())
            if !ended.isEmpty { hub.connections.endConnections(of: ended) }
        } catch {
            logger.error("could not check tokens; revoked tokens stay connected until this succeeds: \(error)")
        }
    }
}
