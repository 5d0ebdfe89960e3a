import CoreMetrics
import Logging
import ServiceLifecycle
import TelehubCore
import TelehubStore

/// Expires commands whose ttl has passed, whether or not anybody looks (on a
/// shared store every hub may do it: a command expires once, the store's
/// transaction sees to that); sends devices connected here the commands made
/// elsewhere (another hub, the CLI writing the database); and keeps the
/// command gauges of `/metrics` current.
struct CommandService: Service, CustomStringConvertible {
    var description: String { "CommandService" }

    let hub: Hub
    private let logger = Logger(label: "telehub.commands")

    func run() async {
        var gaugesUpdated = ContinuousClock.now - .seconds(60)
        while await sleepUnlessShuttingDown(for: hub.configuration.commandExpiryInterval) {
            do {
                while try await hub.commands.expireDue() > 0 {}
                let online = hub.connections.onlineDevices()
                if !online.isEmpty {
                    for device in try await hub.store.devicesWithQueuedCommands().intersection(online) {
                        try await hub.commands.deliver(to: device)
                    }
                    try await hub.states.catchUp(online: online)
                }
                if ContinuousClock.now - gaugesUpdated >= .seconds(2) {
                    let counts = try await hub.store.commandCounts()
                    for (status, meter) in hub.metrics.commands { meter.set(counts[status] ?? 0) }
                    gaugesUpdated = .now
                }
            } catch {
                logger.error("could not expire commands; trying again: \(error)")
            }
        }
    }
}
