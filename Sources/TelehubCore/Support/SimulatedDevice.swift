import Foundation

/// A simulated device and its signals: the demo fleet of `serve --demo` and
/// the devices of `telehub simulate` use the same ones.
public struct SimulatedDevice: Sendable {
    public enum Signal: Sendable {
        /// A daily sine around `mean` with noise, e.g. a greenhouse temperature.
        case daily(mean: Double, amplitude: Double, noise: Double, phaseHours: Double)
        /// A battery draining slowly and recharged when nearly empty.
        case battery(hoursPerCharge: Double)
        /// A door that is opened now and then for a minute or two.
        case door(opensPerHour: Double)
    }

    public var name: String
    public var signals: [(metric: String, signal: Signal)]

    public init(name: String, signals: [(metric: String, signal: Signal)]) {
        self.name = name
        self.signals = signals
    }

    /// The demo fleet of `serve --demo`.
    public static let demoFleet: [SimulatedDevice] = [
        SimulatedDevice(name: "demo-greenhouse-1", signals: [
            ("temperature", .daily(mean: 22, amplitude: 5, noise: 0.2, phaseHours: 9)),
            ("humidity", .daily(mean: 60, amplitude: -12, noise: 0.8, phaseHours: 9)),
            ("battery", .battery(hoursPerCharge: 20)),
        ]),
        SimulatedDevice(name: "demo-greenhouse-2", signals: [
            ("temperature", .daily(mean: 19, amplitude: 4, noise: 0.3, phaseHours: 10)),
            ("humidity", .daily(mean: 70, amplitude: -8, noise: 1.0, phaseHours: 10)),
            ("battery", .battery(hoursPerCharge: 30)),
        ]),
        SimulatedDevice(name: "demo-cold-room", signals: [
            ("temperature", .daily(mean: 4, amplitude: 0.6, noise: 0.15, phaseHours: 14)),
            ("door", .door(opensPerHour: 20)),
        ]),
        SimulatedDevice(name: "demo-meter", signals: [
            ("power_w", .daily(mean: 450, amplitude: 250, noise: 40, phaseHours: 18)),
        ]),
    ]

    /// A plausible reading at `ts`, with some noise.
    public func reading(at ts: Int64, using generator: inout some RandomNumberGenerator) -> Reading {
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
public struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
