import Foundation
import Logging
import ServiceLifecycle
import TelehubCore
import TelehubStore

/// Makes this hub one of several on a shared store (`SharedStream`,
/// PostgreSQL): every hub publishes every hub's committed readings and
/// presence changes, in log order, with the log's positions as stream ids
/// (so `Last-Event-ID` means the same on each), and a device's newer connection
/// on any hub replaces its older one on this hub (close 4000).
///
/// This hub's own entries are published as soon as they are logged, unless
/// an earlier position (another hub's commit) has not been seen yet: then
/// they wait for it (`StreamSequencer`) and the log is read at once. Other
/// hubs' entries are read from the log when a notification wakes the feed,
/// and every `pollInterval` regardless, so a lost notification costs that
/// much latency and never an event.
actor StreamFeed: Service {
    nonisolated let instance: String
    private let store: any SharedStream
    private let live: LiveHub
    private let connections: ConnectionRegistry
    private let pollInterval: Duration
    private let logger = Logger(label: "telehub.stream")
    private var sequencer: StreamSequencer<(LoggedEvents, Bool)>?
    private let gap = Wake()
    /// Per device connected here, the position of this hub's newest takeover
    /// of it (`.max` while being logged): another hub's takeover replaces the
    /// connection here only when it is newer, so a device that hops back and
    /// forth keeps its newest connection wherever that is.
    private var takenOver: [String: Int64] = [:]

    /// A hub that has not beaten for this long is taken for dead: its
    /// devices count as offline and their connections are forgotten.
    static let beatInterval: Int64 = 1000
    static let deadAfter: Int64 = 5000

    private let leadership: Leadership

    init(
        store: any SharedStream, live: LiveHub, connections: ConnectionRegistry, leadership: Leadership,
        pollInterval: Duration = .milliseconds(250)
    ) {
        self.store = store
        self.live = live
        self.connections = connections
        self.leadership = leadership
        self.pollInterval = pollInterval
        self.instance = UUID().uuidString
    }

    // MARK: Readings

    /// The entry a commit of these readings logs: one position per reading.
    nonisolated func entry(for readings: [(device: String, reading: Reading)]) -> PendingStreamEntry? {
        guard !readings.isEmpty else { return nil }
        let events = LoggedEvents(readings: readings)
        return PendingStreamEntry(positions: events.positions, instance: instance, body: events.body)
    }

    /// This hub committed `readings` at `positions`.
    func committed(_ positions: ClosedRange<Int64>, _ readings: [(device: String, reading: Reading)]) async {
        await accept(positions, LoggedEvents(first: positions.lowerBound, readings: readings), own: true)
    }

    // MARK: Device connections

    /// A device connection began here: it becomes the device's current one on
    /// every hub (another hub's older connection is closed with 4000).
    func deviceConnected(_ device: String, deviceID: Int64, connection: Int) async {
        let now = EpochClock.nowMs()
        takenOver[device] = .max
        do {
            let wasOnline = try await store.connectionOpened(
                deviceID: deviceID, instance: instance, connection: "\(connection)", at: now, aliveAfter: now - Self.deadAfter)
            var events = LoggedEvents(takeovers: [.init(device: device, instance: instance)])
            if !wasOnline { events.presence = [PresenceEvent(device: device, online: true, ts: now)] }
            if let position = await log(events) { takenOver[device] = position }
        } catch {
            logger.warning("could not record \(device)'s connection for the other hubs: \(error)")
        }
    }

    /// The last connection of a device on this hub ended.
    func deviceDisconnected(_ device: String, deviceID: Int64, connection: Int) async {
        takenOver[device] = nil
        do {
            // Still its current connection: offline now. Else a newer one, here or on another hub, holds it.
            guard try await store.connectionClosed(deviceID: deviceID, instance: instance, connection: "\(connection)") else { return }
            await log(LoggedEvents(presence: [PresenceEvent(device: device, online: false, ts: EpochClock.nowMs())]))
        } catch {
            logger.warning("could not record the end of \(device)'s connection for the other hubs: \(error)")
        }
    }

    /// Alert transitions this hub stored, for every hub's stream.
    func announce(_ alerts: [AlertStreamEvent]) async {
        guard !alerts.isEmpty else { return }
        await log(LoggedEvents(alerts: alerts))
    }

    /// Command status changes this hub stored, for every hub's stream.
    func announce(commands: [CommandStreamEvent]) async {
        await log(LoggedEvents(commands: commands))
    }

    /// State changes this hub stored, for every hub's stream.
    func announce(states: [StateStreamEvent]) async {
        await log(LoggedEvents(states: states))
    }

    /// Devices with a current connection on a live hub.
    func onlineDevices() async throws -> Set<String> {
        try await store.onlineDevices(aliveAfter: EpochClock.nowMs() - Self.deadAfter)
    }

    /// - Returns: the entry's first position, nil when it could not be logged.
    @discardableResult
    private func log(_ events: LoggedEvents) async -> Int64? {
        do {
            let positions = try await store.appendStream(
                PendingStreamEntry(positions: events.positions, instance: instance, body: events.body))
            var logged = events
            logged.first = positions.lowerBound
            await accept(positions, logged, own: true)
            return positions.lowerBound
        } catch {
            logger.warning("could not log an event for the other hubs: \(error)")
            return nil
        }
    }

    // MARK: Running

    func run() async {
        let wakeups = store.streamWakeups()
        await withDiscardingTaskGroup { group in
            // Both wake-up sources end in the same signal, so one loop reads the log.
            group.addTask { [gap] in
                for await _ in wakeups { gap.signal() }
            }
            let terms = store.leadership()
            group.addTask { [leadership, logger] in
                for await leading in terms {
                    if leading != leadership.isLeader {
                        logger.info(leading ? "this hub now runs the offline watch and webhook delivery" : "another hub runs the offline watch and webhook delivery")
                    }
                    leadership.set(leading)
                }
                leadership.set(false)
            }
            await cancelWhenGracefulShutdown {
                var beaten = ContinuousClock.now - .seconds(60)
                var trimmed = ContinuousClock.now
                while !Task.isCancelled {
                    self.gap.clear()
                    if ContinuousClock.now - beaten >= .milliseconds(Self.beatInterval) {
                        beaten = .now
                        await self.beatAndReap()
                    }
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

    /// Says this hub is alive, and takes the devices of hubs that stopped
    /// beating (killed, cut off) offline for everyone.
    private func beatAndReap() async {
        let now = EpochClock.nowMs()
        do {
            try await store.beat(instance: instance, at: now)
            for device in try await store.reapConnections(aliveAfter: now - Self.deadAfter) {
                await log(LoggedEvents(presence: [PresenceEvent(device: device, online: false, ts: now)]))
            }
        } catch {
            logger.warning("could not beat: \(error)")
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
                    let events = LoggedEvents.decode(entry.body, first: entry.first)
                    if events == nil { logger.error("stream log entry \(entry.first) does not decode; its events are skipped") }
                    await accept(entry.first...entry.last, events ?? LoggedEvents(first: entry.first), own: entry.instance == instance)
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

    private func accept(_ positions: ClosedRange<Int64>, _ events: LoggedEvents, own: Bool) async {
        if sequencer == nil { start(after: positions.lowerBound - 1) }
        guard let ready = sequencer?.accept(first: positions.lowerBound, last: positions.upperBound, (events, own)) else { return }
        for (item, isOwn) in ready { await publish(item, own: isOwn) }
        if sequencer?.hasGap == true { gap.signal() }
    }

    private func publish(_ events: LoggedEvents, own: Bool) async {
        if !own {
            for takeover in events.takeovers where takeover.instance != instance {
                guard (takenOver[takeover.device] ?? .min) < events.first else { continue }  // ours is newer
                takenOver[takeover.device] = nil
                connections.endDevice(takeover.device)
            }
        }
        if !events.readings.isEmpty { await live.publish(events.readings, firstID: events.first) }
        for change in events.presence { await live.publishPresence(device: change.device, online: change.online, at: change.ts) }
        if !events.alerts.isEmpty { await live.publishAlerts(events.alerts) }
        if !events.commands.isEmpty { await live.publishCommands(events.commands) }
        if !events.states.isEmpty { await live.publishStates(events.states) }
    }
}
