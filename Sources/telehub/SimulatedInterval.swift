import Synchronization
import TelehubCore
import TelehubDevice

/// A simulated device's sending interval, which the operator can change: by
/// the command `set-interval {"seconds": N}` or a desired `{"interval": N}`.
/// Either way the device reports `{"interval": N}`.
final class SimulatedInterval: Sendable {
    static let allowed = 0.001...3600.0
    private let current: Mutex<Double>

    init(seconds: Double) {
        current = Mutex(seconds)
    }

    var seconds: Double { current.withLock { $0 } }

    /// Registers the device's handlers, and reports the interval it starts with.
    func answer(through client: DeviceClient) async throws {
        await client.onCommand("set-interval") { [weak client] command in
            let seconds = try self.change(command.args["seconds"], field: "seconds")
            try await client?.report(.object(["interval": .number(seconds)]))
            return .object(["interval": .number(seconds)])
        }
        await client.onDesiredState { state, _ in
            guard state["interval"] != nil else { return .object([:]) }
            return .object(["interval": .number(try self.change(state["interval"], field: "interval"))])
        }
        try await client.report(.object(["interval": .number(seconds)]))
    }

    private func change(_ value: JSONValue?, field: String) throws -> Double {
        guard let seconds = value?.number, Self.allowed.contains(seconds) else {
            throw IntervalError(description: "\(field): seconds between readings, from \(Self.allowed.lowerBound) to \(Self.allowed.upperBound)")
        }
        current.withLock { $0 = seconds }
        return seconds
    }
}

struct IntervalError: Error, CustomStringConvertible {
    var description: String
}
