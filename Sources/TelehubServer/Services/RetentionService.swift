import Logging
import ServiceLifecycle
import TelehubCore
import TelehubStore
import CoreMetrics

/// Deletes data past its retention, and the oldest raw data while the store
/// is over its size cap, in small steps (one short transaction of at most
/// `retentionStepRows` rows) so that flushes never wait long behind it.
struct RetentionService: Service, CustomStringConvertible {
    // Short, so that lifecycle logs do not print the hub's configuration (and its session token).
    var description: String { "RetentionService" }

    let hub: Hub
    private let logger = Logger(label: "telehub.retention")

    func run() async {
        var pause = Duration.seconds(1)
        while await sleepUnlessShuttingDown(for: pause) {
            let more = await step()
            // Catch up quickly, then check now and then.
            pause = more ? hub.configuration.retentionStepPause : hub.configuration.retentionCheckInterval
        }
    }

    /// - Returns: true when there is more to delete.
    func step() async -> Bool {
        let configuration = hub.configuration
        let now = EpochClock.nowMs()
        let rawCutoff = now - configuration.retentionMs
        hub.metrics.retentionRawCutoff.set(rawCutoff)
        do {
            let expired = try await hub.store.deleteExpired(
                rawBefore: rawCutoff, rollupsBefore: now - configuration.rollupRetentionMs,
                maxRows: configuration.retentionStepRows)
            hub.metrics.retentionDeleted.increment(by: expired.rawRowsDeleted + expired.rollupRowsDeleted)
            if expired.seriesRemoved > 0 { await hub.ingest.seriesRemoved() }
            // Alert history is kept as long as raw readings; transitions whose webhook is still owed stay.
            let history = try await hub.store.deleteAlertHistory(before: rawCutoff, maxRows: configuration.retentionStepRows)
            var more = expired.more || history >= configuration.retentionStepRows
            let size = try await hub.store.storageBytes()
            hub.metrics.storageBytes.set(size)
            if let cap = configuration.maxDatabaseBytes, size > cap, !more {
                let deleted = try await hub.store.deleteOldestRaw(maxRows: configuration.retentionStepRows)
                hub.metrics.retentionDeleted.increment(by: deleted)
                hub.metrics.sizeCapDeleted.increment(by: deleted)
                more = deleted > 0
            }
            return more
        } catch {
            logger.warning("retention step failed: \(error)")
            return false
        }
    }
}
