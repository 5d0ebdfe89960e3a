// A device app on the Swift SDK, and the proof that one links only the SDK:
// it depends on the `TelehubDevice` product alone (no server library, no
// system OpenSSL; `wss://` uses the BoringSSL inside SwiftNIO SSL).
//
//     swift run sensor-example ws://hub.local:8080 thd_… --readings 10
//
// Sends a made-up temperature every interval, waits until the hub has
// acknowledged all of them (they survive restarts in the buffer file until
// then), prints the client's counters and exits.
import Foundation
import TelehubDevice

struct Options {
    var url = ""
    var token = ""
    var readings = 10
    var intervalMs = 1000
    var buffer = "sensor-buffer.sqlite"

    static let usage = "usage: sensor-example <hub url> <device token> [--readings N] [--interval-ms MS] [--buffer PATH]"

    init(_ arguments: [String]) throws {
        var positional: [String] = []
        var rest = arguments[...]
        while let argument = rest.popFirst() {
            guard argument.hasPrefix("--") else {
                positional.append(argument)
                continue
            }
            guard let value = rest.popFirst() else { throw UsageError("\(argument) needs a value") }
            switch argument {
            case "--readings": readings = try Self.number(value, argument, 1...1_000_000)
            case "--interval-ms": intervalMs = try Self.number(value, argument, 0...3_600_000)
            case "--buffer": buffer = value
            default: throw UsageError("unknown option \(argument)")
            }
        }
        guard positional.count == 2 else { throw UsageError("expected a hub url and a device token") }
        (url, token) = (positional[0], positional[1])
    }

    private static func number(_ text: String, _ name: String, _ range: ClosedRange<Int>) throws -> Int {
        guard let value = Int(text), range.contains(value) else {
            throw UsageError("\(name) must be a whole number in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }
}

struct UsageError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

@main
struct SensorExample {
    static func main() async {
        do {
            try await run(try Options(Array(CommandLine.arguments.dropFirst())))
        } catch let error as UsageError {
            FileHandle.standardError.write(Data("sensor-example: \(error)\n\(Options.usage)\n".utf8))
            exit(2)
        } catch {
            FileHandle.standardError.write(Data("sensor-example: \(error)\n".utf8))
            exit(1)
        }
    }

    static func run(_ options: Options) async throws {
        let client = try DeviceClient(configuration: .init(url: options.url, token: options.token, bufferPath: options.buffer))
        let connection = Task { await client.run() }
        for index in 0..<options.readings {
            try await client.send(["temperature": 21 + Double(index % 10) / 10])
            try await Task.sleep(for: .milliseconds(options.intervalMs))
        }
        while await client.snapshot().buffered > 0 {
            try await Task.sleep(for: .milliseconds(50))
        }
        connection.cancel()
        let counters = await client.snapshot()
        print("sent \(counters.sent) acked \(counters.acked) rejected \(counters.rejected) reconnects \(counters.reconnects)")
    }
}
