import Foundation
import Logging
import ServiceLifecycle
import TelehubCore

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
        var devices: [(device: DemoDevice, id: Int64, seq: Int64, session: Int)] = []
        for device in DemoDevice.fleet {
            let id = try await hub.store.ensureDevice(named: device.name)
            // Token id 0 is never revoked, so the watcher leaves demo sessions alone.
            let (session, _) = hub.sessions.register(kind: .device(device.name), tokenID: 0) { _ in }
            devices.append((device, id, try await hub.store.lastSeq(deviceID: id), session))
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
        for device in devices where hub.sessions.unregister(device.session) {
            await hub.live.publishPresence(device: device.device.name, online: false, at: EpochClock.nowMs())
        }
    }
}

extension DemoFleet {
    /// A new demo device gets a day of history (one reading a minute), so the
    /// charts have something to show from the first minute.
    /// - Returns: the last `seq` used.
    private func backfill(_ device: DemoDevice, id: Int64, using generator: inout some RandomNumberGenerator) async -> Int64 {
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
}

/// One simulated device and its signals.
struct DemoDevice: Sendable {
    enum Signal: Sendable {
        /// A daily sine around `mean` with noise, e.g. a greenhouse temperature.
        case daily(mean: Double, amplitude: Double, noise: Double, phaseHours: Double)
        /// A battery draining slowly and recharged when nearly empty.
        case battery(hoursPerCharge: Double)
        /// A door that is opened now and then for a minute or two.
        case door(opensPerHour: Double)
    }

    var name: String
    var signals: [(metric: String, signal: Signal)]

    static let fleet: [DemoDevice] = [
        DemoDevice(name: "demo-greenhouse-1", signals: [
            ("temperature", .daily(mean: 22, amplitude: 5, noise: 0.2, phaseHours: 9)),
            ("humidity", .daily(mean: 60, amplitude: -12, noise: 0.8, phaseHours: 9)),
            ("battery", .battery(hoursPerCharge: 20)),
        ]),
        DemoDevice(name: "demo-greenhouse-2", signals: [
            ("temperature", .daily(mean: 19, amplitude: 4, noise: 0.3, phaseHours: 10)),
            ("humidity", .daily(mean: 70, amplitude: -8, noise: 1.0, phaseHours: 10)),
            ("battery", .battery(hoursPerCharge: 30)),
        ]),
        DemoDevice(name: "demo-cold-room", signals: [
            ("temperature", .daily(mean: 4, amplitude: 0.6, noise: 0.15, phaseHours: 14)),
            ("door", .door(opensPerHour: 20)),
        ]),
        DemoDevice(name: "demo-meter", signals: [
            ("power_w", .daily(mean: 450, amplitude: 250, noise: 40, phaseHours: 18)),
        ]),
    ]

    func reading(at ts: Int64, using generator: inout some RandomNumberGenerator) -> Reading {
        let hours = Double(ts) / 3_600_000
        let metrics = signals.map { metric, signal in
            MetricValue(name: metric, value: Self.value(signal, hours: hours, using: &generator))
        }
        return Reading(ts: ts, metrics: metrics)
    }

    private static func value(_ signal: Signal, hours: Double, using generator: inout some RandomNumberGenerator) -> Double {
        switch signal {
        case .daily(let mean, let amplitude, let noise, let phase):
            let cycle = sin((hours - phase + 6) / 24 * 2 * .pi)
            return ((mean + amplitude * cycle + Double.random(in: -noise...noise, using: &generator)) * 100).rounded() / 100
        case .battery(let hoursPerCharge):
            let charge = 1 - (hours / hoursPerCharge).truncatingRemainder(dividingBy: 1)
            return (max(5, charge * 100) * 10).rounded() / 10
        case .door(let opensPerHour):
            // Open during the first 90 s of a slot that starts, on average, opensPerHour times an hour.
            let slot = (hours * opensPerHour).rounded(.down)
            let offset = (hours * opensPerHour - slot) * 3600 / opensPerHour
            var slotRandom = SplitMix(seed: UInt64(slot))
            return slotRandom.next() % 3 == 0 && offset < 90 ? 1 : 0
        }
    }
}

/// A tiny deterministic generator, so the door's schedule is stable within a slot.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
