import AsyncHTTPClient
import Foundation
import CoreMetrics
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import TelehubCore
import TelehubStore

/// Sends the webhook calls alert transitions owe, from the queue in the
/// store: at least once, with exponential backoff and full jitter between
/// attempts, a dead letter when the receiver refuses for good or time runs
/// out. A slow or dead receiver holds at most its own few slots; ingest never
/// waits for any of this.
struct WebhookDeliverer: Service, CustomStringConvertible {
    var description: String { "WebhookDeliverer" }

    let hub: Hub
    let wake: Wake
    private let slots: DeliverySlots
    private let logger = Logger(label: "telehub.webhooks")

    init(hub: Hub, wake: Wake) {
        self.hub = hub
        self.wake = wake
        self.slots = DeliverySlots(
            total: hub.configuration.webhookConcurrency, perReceiver: hub.configuration.webhookConcurrencyPerReceiver)
    }

    func run() async {
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: Self.clientConfiguration(hub.configuration))
        await withDiscardingTaskGroup { group in
            while !Task.isCancelled {
                wake.clear()
                slots.newRound()
                // One hub delivers for all on a shared store (`Leadership`).
                let leading = hub.leadership.isLeader
                let due = leading ? (try? await hub.store.dueDeliveries(now: EpochClock.nowMs(), limit: 256)) ?? [] : []
                for delivery in due {
                    let receiver = Self.receiver(delivery.url)
                    guard slots.take(delivery.id, receiver: receiver) else { continue }
                    group.addTask {
                        let outcome = await attempt(delivery, client)
                        await record(delivery, outcome)
                        slots.give(delivery.id, receiver: receiver)
                        wake.signal()  // a slot is free: look again
                    }
                }
                let next = (try? await hub.store.nextDeliveryDue()) ?? nil
                let wait = next.map { max(10, min(1000, $0 - EpochClock.nowMs())) } ?? 1000
                guard await sleepOrWake(for: .milliseconds(wait)) else { break }
            }
            group.cancelAll()
        }
        try? await client.shutdown()
    }

    /// - Returns: false once the hub is shutting down.
    private func sleepOrWake(for duration: Duration) async -> Bool {
        await cancelWhenGracefulShutdown { await wake.wait(until: .now + duration) }
        return !Task.isShuttingDownGracefully && !Task.isCancelled
    }

    /// One attempt, body included, within `webhook-timeout-ms`; classifies
    /// the answer as the contract says. The client's own deadline ends when
    /// the response head arrives, so a receiver that trickles its body would
    /// otherwise hold the slot for as long as it likes.
    private func attempt(_ delivery: AlertDelivery, _ client: HTTPClient) async -> DeliveryOutcome {
        let now = EpochClock.nowMs()
        let started = ContinuousClock.now
        let timeout = hub.configuration.webhookTimeout
        let receiver = Self.receiver(delivery.url)
        let request = WebhookRequest.make(delivery, sentAt: now)
        let attempts = delivery.attempts + 1
        let status: Int?
        do {
            status = try await Deadline.run(within: timeout) {
                let response = try await client.execute(request, timeout: .milliseconds(timeout.milliseconds))
                // The body is not needed; a bounded read lets the connection be reused.
                _ = try? await response.body.collect(upTo: 64 * 1024)
                return Int(response.status.code)
            }
        } catch {
            // A connection refused at once is down, not slow; a silent one that
            // ran into the client's own timeouts held its slot as long as one that trickles.
            noteSpeed(of: receiver, slow: ContinuousClock.now - started >= timeout / 2)
            return WebhookRetry.outcome(
                error: "\(error)", attempts: attempts, deadline: delivery.deadline, now: now, maxDelayMs: retryMaxMs)
        }
        guard let status else {
            noteSpeed(of: receiver, slow: true)
            return WebhookRetry.outcome(
                error: "no complete answer within \(timeout.milliseconds) ms", attempts: attempts, deadline: delivery.deadline,
                now: now, maxDelayMs: retryMaxMs)
        }
        noteSpeed(of: receiver, slow: false)
        return WebhookRetry.outcome(status: status, attempts: attempts, deadline: delivery.deadline, now: now, maxDelayMs: retryMaxMs)
    }

    /// The longest wait between two attempts (`--webhook-retry-max-ms`).
    private var retryMaxMs: Int64 { hub.configuration.webhookRetryMax.milliseconds }

    private func noteSpeed(of receiver: String, slow: Bool) {
        if slow { slots.noteSlow(receiver) } else { slots.noteAnswered(receiver) }
    }

    private func record(_ delivery: AlertDelivery, _ outcome: DeliveryOutcome) async {
        switch outcome {
        case .delivered: hub.metrics.deliveries["delivered"]?.increment()
        case .retry: hub.metrics.deliveries["retry"]?.increment()
        case .dead(let error):
            hub.metrics.deliveries["dead"]?.increment()
            // The host only: a Slack-style URL carries its secret in the path.
            logger.warning("webhook delivery \(delivery.id) to \(Self.receiver(delivery.url)) is a dead letter: \(error)")
        }
        do {
            try await hub.store.recordDeliveryOutcome(id: delivery.id, outcome: outcome)
        } catch {
            // Not recorded: the delivery stays due and is sent again (at least once).
            logger.error("could not record webhook delivery \(delivery.id): \(error)")
        }
    }

    static func receiver(_ url: String) -> String {
        guard let parsed = URL(string: url) else { return url }
        return "\(parsed.host ?? ""):\(parsed.port ?? (parsed.scheme == "https" ? 443 : 80))"
    }

    private static func clientConfiguration(_ configuration: HubConfiguration) -> HTTPClient.Configuration {
        var client = HTTPClient.Configuration()
        client.redirectConfiguration = .disallow
        client.timeout = .init(connect: .seconds(5), read: .milliseconds(configuration.webhookTimeout.milliseconds))
        client.connectionPool = .init(idleTimeout: .seconds(30))
        return client
    }
}
