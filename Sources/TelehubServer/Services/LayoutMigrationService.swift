import Logging
import ServiceLifecycle
import TelehubStore

/// Moves a database written by an older layout into the current one in
/// small steps while the hub serves (see `TelemetryStore.migrateStep`), with
/// the retention's step size and pause, so flushes never wait long behind
/// it. Each step is one transaction: after a crash the next start goes on.
struct LayoutMigrationService: Service, CustomStringConvertible {
    var description: String { "LayoutMigrationService" }

    let hub: Hub
    private let logger = Logger(label: "telehub.migration")

    func run() async {
        var steps = 0
        var pause = Duration.zero
        while await sleepUnlessShuttingDown(for: pause) {
            do {
                guard try await hub.store.migrateStep(maxValues: hub.configuration.retentionStepRows) else { break }
                if steps == 0 { logger.info("moving data of the previous storage layout into chunks, in steps") }
                steps += 1
                pause = hub.configuration.retentionStepPause
            } catch {
                logger.warning("layout migration step failed, retrying in 10 s: \(error)")
                pause = .seconds(10)
            }
        }
        if steps > 0 { logger.info("storage layout migration finished after \(steps) steps") }
        // A service that returns ends the hub: stay until it shuts down.
        while await sleepUnlessShuttingDown(for: .seconds(3600)) {}
    }
}
