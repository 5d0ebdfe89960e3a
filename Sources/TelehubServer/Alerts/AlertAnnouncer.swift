import CoreMetrics
import TelehubCore
import TelehubStore

/// What follows a stored transition, wherever it was found (a commit, or
/// the offline watch): counted, sent to stream clients, and the webhook
/// deliverer woken when a call is owed.
struct AlertAnnouncer: Sendable {
    let live: LiveHub
    /// On a shared store, events go through the log to every hub's stream.
    let feed: StreamFeed?
    let metrics: HubMetrics
    /// Wakes `WebhookDeliverer`.
    let deliveries: Wake

    /// - Parameter missing: devices deleted while their changes were stored (the store dropped those).
    func announce(_ changes: AlertChanges, from book: AlertBook, skipping missing: Set<Int64> = []) async {
        let stored = changes.transitions.filter { !missing.contains($0.deviceID) }
        let events = stored.compactMap { book.streamEvent($0.transition) }
        guard !events.isEmpty else { return }
        metrics.alertTransitions.increment(by: events.count)
        if let feed { await feed.announce(events) } else { await live.publishAlerts(events) }
        if stored.contains(where: { $0.delivery != nil }) { deliveries.signal() }
    }
}
