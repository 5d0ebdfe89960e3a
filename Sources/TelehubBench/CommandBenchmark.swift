import Foundation
import Histogram
import NIOCore
import NIOHTTP1

/// The commands section of `telehub bench --ingest`: with `devices` devices
/// connected and answering every command at once, how many commands a
/// second the hub accepts (each a committed transaction), how long a command
/// takes from `POST …/commands?wait=` to the device's result as the operator
/// sees it, and what commands flowing beside ingest cost ingest (same run).
public struct CommandBenchmark: Sendable {
    public struct Figures: Codable, Sendable {
        public var devices: Int
        public var accepted: Int
        public var acceptedPerSecond: Double
        public var hubCPUMicrosecondsPerCommand: Double
        public var roundTrips: Int
        public var roundTripP50Ms: Double
        public var roundTripP99Ms: Double
        public var roundTripMaxMs: Double
        public var ingestAlone: IngestBenchmark.Throughput
        public var ingestWithCommands: IngestBenchmark.Throughput
        public var commandsPerSecondDuringIngest: Double
    }

    let load: LoadGenerator
    let controlToken: String
    /// The answering devices' names.
    let devices: [String]
    /// Concurrent HTTP connections sending commands.
    let senders = 8

    /// Sends `total` commands (no wait), round robin over the devices. - Returns: commands a second.
    func accept(total: Int) async throws -> (perSecond: Double, cpuMicroseconds: Double, lastID: String) {
        let cpu = load.hub.cpuSeconds() ?? 0
        let started = ContinuousClock.now
        let lastIDs = try await withThrowingTaskGroup(of: String.self) { group in
            for sender in 0..<senders {
                group.addTask {
                    let channel = try await HTTPExchange.connect(host: load.hub.host, port: load.hub.port, group: load.group)
                    defer { channel.close(promise: nil) }
                    var last = ""
                    for index in stride(from: sender, to: total, by: senders) {
                        last = try await send(channel, to: devices[index % devices.count], wait: nil).id
                    }
                    return last
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        let elapsed = (ContinuousClock.now - started).seconds
        let used = (load.hub.cpuSeconds() ?? 0) - cpu
        return (Double(total) / elapsed, used * 1e6 / Double(total), lastIDs.last ?? "")
    }

    /// Each sender sends a command and waits for its result, again and
    /// again, for `seconds`. - Returns: round trips and their latency histogram (µs).
    func roundTrips(seconds: Double) async throws -> (count: Int, histogram: Histogram<UInt64>) {
        let until = ContinuousClock.now + .seconds(seconds)
        let histograms = try await withThrowingTaskGroup(of: Histogram<UInt64>.self) { group in
            for sender in 0..<senders {
                group.addTask {
                    let channel = try await HTTPExchange.connect(host: load.hub.host, port: load.hub.port, group: load.group)
                    defer { channel.close(promise: nil) }
                    var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
                    var index = sender
                    while ContinuousClock.now < until {
                        let started = ContinuousClock.now
                        let answer = try await send(channel, to: devices[index % devices.count], wait: 10_000)
                        guard answer.status == "succeeded" else { throw Failure.notAnswered(answer.status) }
                        _ = histogram.record(UInt64((ContinuousClock.now - started).seconds * 1e6))
                        index += senders
                    }
                    return histogram
                }
            }
            return try await group.reduce(into: [Histogram<UInt64>]()) { $0.append($1) }
        }
        var all = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        for histogram in histograms { all.add(histogram) }
        return (Int(all.totalCount), all)
    }

    /// Sends commands at `perSecond` until `stop` is signalled. - Returns: how many.
    func steady(perSecond: Double, until stop: @escaping @Sendable () -> Bool) async throws -> Int {
        let channel = try await HTTPExchange.connect(host: load.hub.host, port: load.hub.port, group: load.group)
        defer { channel.close(promise: nil) }
        let started = ContinuousClock.now
        var sent = 0
        while !stop() {
            _ = try await send(channel, to: devices[sent % devices.count], wait: nil)
            sent += 1
            try await Task.sleep(until: started + .seconds(Double(sent) / perSecond))
        }
        return sent
    }

    /// Waits until command `id` is final (what was sent before it, nearly so).
    func settle(after id: String) async throws {
        let channel = try await HTTPExchange.connect(host: load.hub.host, port: load.hub.port, group: load.group)
        defer { channel.close(promise: nil) }
        for _ in 0..<600 {
            let answer = try await HTTPExchange.send(channel, .GET, "/v1/commands/\(id)", token: controlToken)
            if answer.body.contains(#""status":"succeeded""#) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Failure.notAnswered("command \(id) not final after 30 s")
    }

    enum Failure: Error, CustomStringConvertible {
        case refused(Int, String)
        case notAnswered(String)

        var description: String {
            switch self {
            case .refused(let status, let body): "the hub refused a command: \(status) \(body)"
            case .notAnswered(let status): "a command ended \(status)"
            }
        }
    }

    private func send(_ channel: any Channel, to device: String, wait: Int?) async throws -> (id: String, status: String) {
        let path = "/v1/devices/\(device)/commands" + (wait.map { "?wait=\($0)" } ?? "")
        let answer = try await HTTPExchange.send(
            channel, .POST, path, token: controlToken, json: #"{"name":"set-interval","args":{"seconds":5}}"#)
        guard answer.status == 200 || answer.status == 202,
            let object = try? JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any],
            let id = object["id"] as? String, let status = object["status"] as? String
        else { throw Failure.refused(answer.status, answer.body) }
        return (id, status)
    }
}
