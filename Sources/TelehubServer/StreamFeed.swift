import Foundation
import Logging
import ServiceLifecycle
import TelehubCore
import TelehubStore

/// Makes this hub's live stream the shared log's, when the store is shared
/// by several hubs (`SharedStream`, PostgreSQL): every hub publishes every
/// hub's committed readings, in log order, with the log's positions as
/// stream ids, so `Last-Event-ID` means the same on each of them.
///
/// This hub's own commits are published as soon as they are committed,
/// unless an earlier position (another hub's commit) has not been seen yet:
/// then they wait for it (`StreamSequencer`) and the log is read at once.
/// Other hubs' commits are read from the log when a notification wakes the
/// feed, and every `pollInterval` regardless, so a lost notification costs
/// that much latency and never an event.
actor StreamFeed: Service {
    nonisolated let instance: String
    private let store: any SharedStream
    private let live: LiveHub
    private let pollInterval: Duration
    private let logger = Logger(label: "telehub.stream")
    private var sequencer: StreamSequencer<LoggedReadings>?
    private let gap = Wake()

    init(store: any SharedStream, live: LiveHub, pollInterval: Duration = .milliseconds(250)) {
        self.store = store
        self.live = live
        self.pollInterval = pollInterval
        self.instance = UUID().uuidString
    }

    /// The entry a commit of these readings logs: one position per reading.
    nonisolated func entry(for readings: [(device: String, reading: Reading)]) -> PendingStreamEntry? {
        guard !readings.isEmpty else { return nil }
        return PendingStreamEntry(positions: readings.count, instance: instance, body: LoggedReadings.encode(readings))
    }

    /// This hub committed `readings` at `positions`.
    func committed(_ positions: ClosedRange<Int64>, _ readings: [(device: String, reading: Reading)]) async {
        await accept(positions, LoggedReadings(first: positions.lowerBound, readings: readings))
    }

    func run() async {
        let wakeups = store.streamWakeups()
        await withDiscardingTaskGroup { group in
            // Both wake-up sources end in the same signal, so one loop reads the log.
            group.addTask { [gap] in
                for await _ in wakeups { gap.signal() }
            }
            await cancelWhenGracefulShutdown {
                var trimmed = ContinuousClock.now
                while !Task.isCancelled {
                    self.gap.clear()
                    await self.readLog()
                    if ContinuousClock.now - trimmed > Self.trimInterval {
                        trimmed = .now
                        await self.trim()
                    }
                    await self.gap.wait(until: .now + self.pollInterval)
                }
            }
            group.cancelAll()
        }
    }

    private func readLog() async {
        do {
            if sequencer == nil {
                let head = try await store.streamHead()
                if sequencer == nil { start(after: head) }
            }
            while let after = sequencer?.delivered {
                let entries = try await store.streamEntries(after: after, limit: 256)
                for entry in entries {
                    guard let readings = LoggedReadings.decode(entry.body, first: entry.first) else {
                        logger.error("stream log entry \(entry.first) does not decode; its events are skipped")
                        await accept(entry.first...entry.last, LoggedReadings(first: entry.first, readings: []))
                        continue
                    }
                    await accept(entry.first...entry.last, readings)
                }
                if entries.count < 256 { break }
            }
        } catch {
            logger.warning("could not read the stream log: \(error)")
        }
    }

    /// The log keeps what a hub that was briefly cut off needs to catch up:
    /// entries of the last 10 minutes, and the newest 100,000 positions.
    static let trimInterval: Duration = .seconds(60)

    private func trim() async {
        do {
            try await store.trimStream(olderThan: EpochClock.nowMs() - 600_000, keep: 100_000)
        } catch {
            logger.warning("could not trim the stream log: \(error)")
        }
    }

    private func start(after position: Int64) {
        sequencer = StreamSequencer(after: position)
        Task { [live] in await live.continueShared(after: position) }
    }

    private func accept(_ positions: ClosedRange<Int64>, _ readings: LoggedReadings) async {
        if sequencer == nil { start(after: positions.lowerBound - 1) }
        guard let ready = sequencer?.accept(first: positions.lowerBound, last: positions.upperBound, readings) else { return }
        for item in ready where !item.readings.isEmpty {
            await live.publish(item.readings, firstID: item.first)
        }
        if sequencer?.hasGap == true { gap.signal() }
    }
}

/// The readings of one log entry: the body is
/// `{"readings":[{"device":…,"ts":…,"metrics":{…}},…]}` (the contract's
/// reading payloads; an object, so other kinds of events can join later).
struct LoggedReadings: Sendable {
    var first: Int64
    var readings: [(device: String, reading: Reading)]

    private struct Item: Codable {
        var device: String
        var reading: Reading

        init(device: String, reading: Reading) {
            self.device = device
            self.reading = reading
        }

        private enum Keys: String, CodingKey { case device }

        init(from decoder: any Decoder) throws {
            device = try decoder.container(keyedBy: Keys.self).decode(String.self, forKey: .device)
            reading = try Reading(from: decoder)
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(device, forKey: .device)
            try reading.encode(to: encoder)
        }
    }

    private struct Body: Codable {
        var readings: [Item]
    }

    static func encode(_ readings: [(device: String, reading: Reading)]) -> String {
        JSONEncoder.wireText(Body(readings: readings.map { Item(device: $0.device, reading: $0.reading) }))
    }

    static func decode(_ body: String, first: Int64) -> LoggedReadings? {
        guard let decoded = try? JSONDecoder().decode(Body.self, from: Data(body.utf8)) else { return nil }
        return LoggedReadings(first: first, readings: decoded.readings.map { ($0.device, $0.reading) })
    }
}
