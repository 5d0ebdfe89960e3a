public import ServiceLifecycle
import Synchronization
import TelehubCore
import CoreMetrics

/// Fans committed readings and presence changes out to stream subscribers,
/// and keeps the newest reading events for `Last-Event-ID` resume.
///
/// Each subscriber has a bounded buffer: one that falls behind is
/// disconnected rather than growing the hub's memory, and resumes from the
/// replay window when it reconnects.
public actor LiveHub: Service {
    /// What a new subscriber gets: the events it missed (or a reset), then live ones.
    public struct Subscription: Sendable {
        /// The stream position the subscription starts at.
        public let position: Int64
        /// True when the requested position is outside the replay window.
        public let reset: Bool
        public let replay: [LiveEvent]
        /// Live batches; taking one from the sequence counts it as delivered.
        public let batches: AsyncMapSequence<AsyncStream<LiveBatch>, LiveBatch>
        /// Ends the stream from outside, e.g. when its token is revoked.
        let finish: @Sendable () -> Void
    }

    private struct Subscriber {
        let continuation: AsyncStream<LiveBatch>.Continuation
        let backlog: Backlog
        /// Disconnects the client; called when it falls too far behind.
        let disconnect: @Sendable () -> Void
    }

    private var subscribers: [Int: Subscriber] = [:]
    private var nextSubscriberID = 0
    private var replay: ReplayBuffer
    private var lastID: Int64
    private let bufferSize: Int
    private let keepaliveInterval: Duration
    private let metrics: HubMetrics

    /// - Parameter firstID: ids continue across restarts when seeded from the
    ///   clock, so an id from an earlier process is always outside the window.
    init(
        replayEvents: Int, bufferSize: Int, keepaliveInterval: Duration, metrics: HubMetrics,
        firstID: Int64 = EpochClock.nowMs() * 1000
    ) {
        self.metrics = metrics
        self.replay = ReplayBuffer(capacity: replayEvents)
        self.bufferSize = max(1, bufferSize)
        self.keepaliveInterval = keepaliveInterval
        self.lastID = firstID
    }

    /// Publishes one flush's readings as one batch: encoded once, written to
    /// each subscriber in one piece.
    /// - Parameter firstID: the first reading's id when the shared stream log
    ///   assigned them (`StreamFeed`), else the next of this hub's own.
    func publish(_ readings: [(device: String, reading: Reading)], firstID: Int64? = nil) {
        guard !readings.isEmpty else { return }
        if let firstID { lastID = firstID - 1 }
        // With nobody listening, the events wait in the replay window unwritten
        // (and no batch of them is built).
        let listening = !subscribers.isEmpty
        var events: [LiveEvent] = []
        if listening { events.reserveCapacity(readings.count) }
        for (device, reading) in readings {
            lastID += 1
            let event = LiveEvent.reading(id: lastID, device: device, reading: reading)
            replay.append(event)
            if listening { events.append(event) }
        }
        if listening { broadcast(LiveBatch(events)) }
    }

    /// From now on ids come from the shared log, which is at `position`.
    func continueShared(after position: Int64) {
        lastID = position
    }

    func publishPresence(device: String, online: Bool, at ts: Int64) {
        broadcast(LiveBatch([.presence(device: device, online: online, ts: ts)]))
    }

    /// Alert transitions, as a commit or the offline watch stored them.
    func publishAlerts(_ events: [AlertStreamEvent]) {
        guard !events.isEmpty, !subscribers.isEmpty else { return }
        broadcast(LiveBatch(events.map(LiveEvent.alert)))
    }

    /// Desired or reported state changes, once stored.
    func publishStates(_ events: [StateStreamEvent]) {
        guard !events.isEmpty, !subscribers.isEmpty else { return }
        broadcast(LiveBatch(events.map(LiveEvent.state)))
    }

    /// Command status changes, once stored.
    func publishCommands(_ events: [CommandStreamEvent]) {
        guard !events.isEmpty, !subscribers.isEmpty else { return }
        broadcast(LiveBatch(events.map(LiveEvent.command)))
    }

    /// - Parameter lastEventID: the last id the client saw, when resuming.
    /// - Parameter disconnect: closes the client's connection when it cannot keep up.
    func subscribe(after lastEventID: Int64?, disconnect: @escaping @Sendable () -> Void = {}) -> Subscription {
        let id = nextSubscriberID
        nextSubscriberID += 1
        let (stream, continuation) = AsyncStream.makeStream(of: LiveBatch.self)
        continuation.onTermination = { [weak self] _ in
            // LiveHub is an actor and this callback is synchronous: hop over to unsubscribe.
            Task { await self?.unsubscribe(id) }
        }
        let backlog = Backlog()
        subscribers[id] = Subscriber(continuation: continuation, backlog: backlog, disconnect: disconnect)
        metrics.streamClients.increment()
        let resume = replay.resume(after: lastEventID, current: lastID)
        let missed: [LiveEvent] = if case .replay(let events) = resume { events } else { [] }
        return Subscription(
            position: lastID, reset: resume == .reset, replay: missed,
            batches: stream.map { batch in
                backlog.remove(batch.events.count)
                return batch
            },
            finish: { continuation.finish() })
    }

    private func unsubscribe(_ id: Int) {
        guard subscribers.removeValue(forKey: id) != nil else { return }
        metrics.streamClients.decrement()
    }

    private func broadcast(_ batch: LiveBatch) {
        for (id, subscriber) in subscribers {
            guard subscriber.backlog.add(batch.events.count) <= bufferSize else {
                // Too far behind: end its stream and its connection; it resumes with Last-Event-ID.
                metrics.eventsDropped.increment()
                subscriber.continuation.finish()
                subscriber.disconnect()
                unsubscribe(id)
                continue
            }
            subscriber.continuation.yield(batch)
        }
    }

    /// Sends keepalives and, on graceful shutdown, ends every stream.
    public func run() async {
        while await sleepUnlessShuttingDown(for: self.keepaliveInterval) {
            broadcast(LiveBatch([.keepalive]))
        }
        for subscriber in subscribers.values { subscriber.continuation.finish() }
    }
}

/// Events not yet taken by a subscriber, counted across the LiveHub actor and
/// the subscriber's task.
final class Backlog: Sendable {
    private let count = Atomic<Int>(0)

    /// - Returns: the backlog after adding.
    func add(_ events: Int) -> Int {
        count.add(events, ordering: .relaxed).newValue
    }

    func remove(_ events: Int) {
        count.subtract(events, ordering: .relaxed)
    }
}
