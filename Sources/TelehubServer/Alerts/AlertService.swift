import CoreMetrics
import Logging
import ServiceLifecycle
import TelehubCore
import TelehubStore

/// Keeps the ingest actor's rules in step with the store (the CLI adds and
/// deletes rules while the hub runs), watches devices' silence for offline
/// rules, and keeps the alert gauges of `/metrics` current.
struct AlertService: Service, CustomStringConvertible {
    var description: String { "AlertService" }

    let hub: Hub
    private let logger = Logger(label: "telehub.alerts")

    func run() async {
        var offline = AlertBook(retryForMs: hub.configuration.webhookRetryForMs)
        var known: ([AlertRule], [MetricDisplay])?
        var gaugesUpdated = ContinuousClock.now - .seconds(60)
        while true {
            do {
                try await check(&offline, &known)
                // The gauges read every state row: every few seconds is enough for a scrape.
                if ContinuousClock.now - gaugesUpdated >= .seconds(2) {
                    try await updateGauges()
                    gaugesUpdated = .now
                }
            } catch {
                logger.error("could not evaluate alerts; trying again: \(error)")
            }
            guard await sleepUnlessShuttingDown(for: hub.configuration.alertCheckInterval) else { return }
        }
    }

    private func check(_ offline: inout AlertBook, _ known: inout ([AlertRule], [MetricDisplay])?) async throws {
        let version = try await hub.store.alertRulesVersion()
        let rules = try await hub.store.alertRules()
        let displays = try await hub.store.metricDisplays()
        // On a shared store other hubs change the stored states: read them every time.
        if hub.feed != nil || known.map({ $0.0 != rules || $0.1 != displays }) ?? true {
            let stored = try await hub.store.alertStates()
            let book = MetricDisplayBook(displays)
            await hub.ingest.loadAlertRules(rules, stored: stored, displays: book, version: version)
            offline.load(rules: rules.filter { if case .offline = $0.condition { true } else { false } }, stored: stored)
            offline.displays = book
            known = (rules, displays)
        }
        if !offline.isEmpty, hub.leadership.isLeader {
            let devices = try await hub.store.deviceActivity()
            let changes = offline.evaluateSilence(devices: devices, now: EpochClock.nowMs())
            if !changes.isEmpty {
                try await hub.store.recordAlertChanges(changes)
                offline.applySilence(changes)
                await hub.alerts.announce(changes, from: offline)
            }
        }
    }

    private func updateGauges() async throws {
        var counts: [AlertSeriesState.Phase: Int] = [:]
        for entry in try await hub.store.alertStates() { counts[entry.state.phase, default: 0] += 1 }
        for (phase, meter) in hub.metrics.alertStates { meter.set(counts[phase] ?? 0) }
        let queue = try await hub.store.deliveryCounts()
        hub.metrics.deliveriesPending.set(queue.byStatus[.pending] ?? 0)
        let age = queue.oldestPending.map { max(0, EpochClock.nowMs() - $0) / 1000 } ?? 0
        hub.metrics.oldestPendingDeliverySeconds.set(Int(age))
        hub.metrics.foldedTransitions.set(queue.folded)
    }
}
