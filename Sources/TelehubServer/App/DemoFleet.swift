import Logging
import ServiceLifecycle
import TelehubCore
import TelehubStore

/// Simulated devices for `serve --demo`, so a newcomer sees live data at
/// once. They go through the ingest actor, presence and the live stream like
/// real devices; only the socket is skipped.
struct DemoFleet: Service, CustomStringConvertible {
    // Short, so that lifecycle logs do not print the hub's configuration (and its session token).
    var description: String { "DemoFleet" }

    let hub: Hub
    let interval: Duration

    init(hub: Hub, interval: Duration = .seconds(1)) {
        self.hub = hub
        self.interval = interval
    }

    func run() async throws {
        await ensureDemoSettings()
        var devices: [(device: SimulatedDevice, id: Int64, seq: Int64, connection: Int)] = []
        for device in SimulatedDevice.demoFleet {
            let id = try await hub.store.ensureDevice(named: device.name)
            // Token id 0 is never revoked, so the watcher leaves demo connections alone.
            let (connection, _) = hub.connections.register(kind: .device(device.name), tokenID: 0) { _ in }
            devices.append((device, id, try await hub.store.lastSeq(deviceID: id), connection))
            await hub.live.publishPresence(device: device.name, online: true, at: EpochClock.nowMs())
        }
        var generator = SystemRandomNumberGenerator()
        for index in devices.indices where devices[index].seq == 0 {
            devices[index].seq = await backfill(devices[index].device, id: devices[index].id, using: &generator)
        }
        while await sleepUnlessShuttingDown(for: interval) {
            let now = EpochClock.nowMs()
            for index in devices.indices {
                devices[index].seq += 1
                let reading = devices[index].device.reading(at: now, using: &generator)
                let message = IngestMessage(seq: devices[index].seq, readings: [reading])
                await hub.ingest.submit(
                    .init(deviceID: devices[index].id, device: devices[index].device.name, message: message, receivedAt: now) { _ in })
            }
        }
        for device in devices where hub.connections.unregister(device.connection) {
            await hub.live.publishPresence(device: device.device.name, online: false, at: EpochClock.nowMs())
        }
    }
}

extension DemoFleet {
    /// A new demo device gets a day of history (one reading a minute), so the
    /// charts have something to show from the first minute.
    /// - Returns: the last `seq` used.
    private func backfill(_ device: SimulatedDevice, id: Int64, using generator: inout some RandomNumberGenerator) async -> Int64 {
        let now = EpochClock.nowMs()
        let readings = stride(from: now - 86_400_000, to: now, by: 60_000).map {
            device.reading(at: $0, using: &generator)
        }
        var seq: Int64 = 0
        for start in stride(from: 0, to: readings.count, by: 500) {
            seq += 1
            let message = IngestMessage(seq: seq, readings: Array(readings[start..<min(start + 500, readings.count)]))
            await hub.ingest.submit(.init(deviceID: id, device: device.name, message: message, receivedAt: now) { _ in })
        }
        return seq
    }

    /// Units for the demo's metrics and two alert rules that fire in the
    /// course of a demo day, so the dashboard's alerts have something to
    /// show. Added once: settings and rules already there are left alone.
    private func ensureDemoSettings() async {
        let units = [("temperature", "°C", "Temperature"), ("humidity", "%", "Humidity"), ("battery", "%", "Battery"),
                     ("power_w", "W", "Power")]
        let rules = [
            AlertRule(id: 0, name: "demo-greenhouse-warm", device: "demo-greenhouse-1", metric: "temperature",
                      condition: .threshold(Threshold(direction: .above, limit: 24, forMs: 60_000, clearAt: 23.5))),
            AlertRule(id: 0, name: "demo-battery-low", device: nil, metric: "battery",
                      condition: .threshold(Threshold(direction: .below, limit: 20, clearAt: 25)), severity: .critical),
        ]
        do {
            let displays = try await hub.store.metricDisplays()
            for (metric, unit, label) in units where !displays.contains(where: { $0.metric == metric && $0.device == nil }) {
                try await hub.store.setMetricDisplay(MetricDisplay(device: nil, metric: metric, unit: unit, label: label))
            }
            let existing = Set(try await hub.store.alertRules().map(\.name))
            for rule in rules where !existing.contains(rule.name) { _ = try await hub.store.createAlertRule(rule) }
        } catch {
            Logger(label: "telehub.demo").warning("could not add the demo's units and alert rules: \(error)")
        }
    }
}
