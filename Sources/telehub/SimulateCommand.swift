import ArgumentParser
import Foundation
import TelehubCore
import TelehubDevice
import TelehubServer
import TelehubStore
import TelehubAuth

struct SimulateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run a fleet of simulated devices on the device SDK against a hub.",
        discussion: """
            Each device has its own durable buffer, reconnects with backoff and jitter, and resumes \
            after hello.lastSeq, as a real device built on the SDK does. Tokens come from --db (created \
            for sim-0, sim-1, …) or from --tokens (one `name token` pair per line).

            The devices answer the command `set-interval` ({"seconds": N}, 0.001 to 3600) by sending \
            a reading every N seconds from then on, apply a desired `{"interval": N}` the same way, \
            and report `{"interval": N}`.
            """)

    @Option(help: "Simulated devices.") var devices = 10
    @Option(help: "Readings per second per device.") var rate: Double = 1
    @Option(help: "The hub's address: the one `telehub serve` prints, http(s):// or ws(s)://, with or without /v1/ingest.")
    var url = "http://127.0.0.1:8080"
    @Option(help: "Database to create device tokens in (the hub's, or a copy of it).") var db: String?
    @Option(help: "A file of `name token` lines, instead of --db.") var tokens: String?
    @Option(help: "Stop generating after this many seconds (default: run until interrupted).") var duration: Double?
    @Option(help: "After --duration, wait this long at most for every reading, command result and report to be acknowledged.") var drainTimeout: Double = 60
    @Option(help: "Folder for the devices' buffers (default: a temporary folder).") var bufferDir: String?
    @Option(help: "Write a JSON summary of every device's counters here at the end.") var summary: String?
    @Option(help: "Sending pace per device, readings/s (backfill after an outage).") var pace: Double = 1000
    @Option(help: "Seconds between the devices' pings; a link silent for two counts as dead.") var heartbeat: Double = 20
    @Option(help: "Longest reconnect delay, seconds (backoff cap).") var backoffCap: Double = 30
    @Option(help: "Seconds a connection must last before the backoff starts over.") var stableAfter: Double = 30
    @Option(help: "Longest wait for the hub's hello after connecting, seconds.") var handshakeTimeout: Double = 10

    func validate() throws {
        guard (db == nil) != (tokens == nil) else { throw ValidationError("give exactly one of --db or --tokens") }
        do { _ = try IngestEndpoint(url) } catch { throw ValidationError("--url: \(error)") }
        try Bounds.check("--devices", devices, 1...100_000)
        try Bounds.check("--rate", rate, 0.001...100_000)
        if let duration { try Bounds.check("--duration", duration, 0.001...31_536_000) }
        try Bounds.check("--drain-timeout", drainTimeout, 0...86_400)
        try Bounds.check("--pace", pace, 0.001...10_000_000)
        try Bounds.check("--heartbeat", heartbeat, 0.1...3600)
        try Bounds.check("--backoff-cap", backoffCap, 0.01...86_400)
        try Bounds.check("--stable-after", stableAfter, 0...86_400)
        try Bounds.check("--handshake-timeout", handshakeTimeout, 0.1...3600)
    }

    func run() async throws {
        let fleet = try await makeFleet()
        let started = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for member in fleet { group.addTask { await member.client.run() } }
            group.addTask { try await generate(fleet, started: started) }
            group.addTask { await report(fleet) }
            try await group.next()  // generation (and draining) finished, or the command was interrupted
            group.cancelAll()
        }
        try await writeSummary(fleet)
    }

    struct Member: Sendable {
        let name: String
        let client: DeviceClient
        let device: SimulatedDevice
        /// Seconds between readings, changed by `set-interval` or desired state.
        let interval: SimulatedInterval
    }

    private func makeFleet() async throws -> [Member] {
        let folder = bufferDir ?? FileManager.default.temporaryDirectory.appendingPathComponent("telehub-simulate-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var members: [Member] = []
        for (index, (name, token)) in try await credentials().enumerated() {
            var configuration = DeviceClient.Configuration(url: url, token: token, bufferPath: "\(folder)/\(name).sqlite")
            configuration.readingsPerSecond = pace
            configuration.heartbeat = .seconds(heartbeat)
            configuration.backoff = Backoff(cap: .seconds(backoffCap), stableAfter: .seconds(stableAfter))
            configuration.handshakeTimeout = .seconds(handshakeTimeout)
            let template = SimulatedDevice.demoFleet[index % SimulatedDevice.demoFleet.count]
            let member = Member(
                name: name, client: try DeviceClient(configuration: configuration),
                device: SimulatedDevice(name: name, signals: template.signals), interval: SimulatedInterval(seconds: 1 / rate))
            try await member.interval.answer(through: member.client)
            members.append(member)
        }
        return members
    }

    private func credentials() async throws -> [(String, String)] {
        if let tokens {
            let lines = try String(contentsOfFile: tokens, encoding: .utf8).split(separator: "\n")
            return lines.prefix(devices).compactMap { line in
                let parts = line.split(separator: " ")
                return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
            }
        }
        let store = try await StoreOptions.parse(["--db", db!]).open()
        var pairs: [(String, String)] = []
        for index in 0..<devices {
            let name = "sim-\(index)"
            pairs.append((name, try await store.mintToken(kind: .device, device: name, label: "simulate", expiresAt: nil).0.value))
        }
        return pairs
    }

    /// Every device takes a reading every `interval` seconds (1/rate until a
    /// command or desired state changes it), on its own phase.
    private func generate(_ fleet: [Member], started: ContinuousClock.Instant) async throws {
        let end = duration.map { started + .seconds($0) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, member) in fleet.enumerated() {
                let phase = Duration.seconds(1 / rate) * (Double(index) / Double(fleet.count))
                group.addTask { try await Self.generate(member, from: started + phase, until: end) }
            }
            try await group.waitForAll()
        }
        try await drain(fleet)
    }

    private static func generate(_ member: Member, from start: ContinuousClock.Instant, until end: ContinuousClock.Instant?) async throws {
        var generator = SystemRandomNumberGenerator()
        var next = start
        while true {
            next += .seconds(member.interval.seconds)
            if let end, next >= end { return }
            try await Task.sleep(until: next)
            let now = EpochClock.nowMs()
            let reading = member.device.reading(at: now, using: &generator)
            try await member.client.send(Dictionary(uniqueKeysWithValues: reading.metrics.map { ($0.name, $0.value) }), at: now)
        }
    }

    private func drain(_ fleet: [Member]) async throws {
        let deadline = ContinuousClock.now + .seconds(drainTimeout)
        while ContinuousClock.now < deadline {
            var buffered = 0
            for member in fleet {
                buffered += await member.client.snapshot().buffered + ((try? await member.client.pendingAnswers()) ?? 0)
            }
            if buffered == 0 { return }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    private func report(_ fleet: [Member]) async {
        while (try? await Task.sleep(for: .seconds(1))) != nil {
            var counters: [DeviceClient.Counters] = []
            for member in fleet { counters.append(await member.client.snapshot()) }
            let line = Self.statusLine(counters) + "\n"
            FileHandle.standardOutput.write(Data(line.utf8))  // unbuffered: the line is live even in a pipe
        }
    }

    /// Totals of the fleet, and why devices are not connected when some are not.
    static func statusLine(_ counters: [DeviceClient.Counters]) -> String {
        func total(_ field: KeyPath<DeviceClient.Counters, Int>) -> Int { counters.reduce(0) { $0 + $1[keyPath: field] } }
        let connected = counters.filter(\.connected).count
        var line = "devices \(counters.count)  connected \(connected)  sent \(total(\.sent))  acked \(total(\.acked))  "
            + "buffered \(total(\.buffered))  reconnects \(total(\.reconnects))  rejected \(total(\.rejected))  "
            + "dropped \(total(\.droppedFull))"
        let failures = counters.filter { !$0.connected }.compactMap(\.lastFailure)
        if let common = Dictionary(grouping: failures, by: \.detail).max(by: { $0.value.count < $1.value.count }) {
            line += "  last error (\(common.value.count) devices): \(common.key)"
        }
        return line
    }

    /// One device's counters in the `--summary` file.
    struct SummaryEntry: Codable {
        var sent, acked, buffered, reconnects, rejected, droppedFull: Int
        /// Commands run and desired versions applied by this run of the device.
        var commandsRun, desiredApplied: Int
        var connected: Bool
        var lastError: String?
    }

    private func writeSummary(_ fleet: [Member]) async throws {
        guard let summary else { return }
        var entries: [String: SummaryEntry] = [:]
        for member in fleet {
            let c = await member.client.snapshot()
            entries[member.name] = SummaryEntry(
                sent: c.sent, acked: c.acked, buffered: c.buffered, reconnects: c.reconnects, rejected: c.rejected,
                droppedFull: c.droppedFull, commandsRun: c.commandsRun, desiredApplied: c.desiredApplied,
                connected: c.connected, lastError: c.lastFailure?.detail)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try encoder.encode(entries).write(to: URL(fileURLWithPath: summary))
    }
}
