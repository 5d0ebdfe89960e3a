import NIOCore
import Synchronization

/// What the device connections of one event loop share: the messages they hand
/// to the ingest actor, gathered into one batch per loop turn, and the
/// heartbeat wheel. Used on its event loop only.
///
/// A connection holds no task: its messages reach the actor in its loop's
/// batch (one hop for many connections), and their outcomes come back through
/// the loop's `AckOutbox` (one hop for many acks).
final class LoopConnections {
    let eventLoop: any EventLoop
    private let ingest: IngestActor
    let outbox: AckOutbox
    let wheel: HeartbeatWheel<DeviceConnectionHandler>

    /// Messages read in this loop turn, and the connection of each.
    private var gathered: [IngestActor.Submission] = []
    private var gatheredFrom: [any LoopIngestSource] = []
    private var handOffScheduled = false
    /// A batch is with the actor (it may wait for room in its queue); the
    /// next one goes once it was taken, so a device's messages keep their order.
    private var handingOff = false

    init(eventLoop: any EventLoop, ingest: IngestActor, heartbeat: TimeAmount) {
        self.eventLoop = eventLoop
        self.ingest = ingest
        self.outbox = AckOutbox(eventLoop: eventLoop)
        self.wheel = HeartbeatWheel(eventLoop: eventLoop, interval: heartbeat)
    }

    /// Queues a message for the next hand-over; the connection reads no more
    /// until `handedOff` (backpressure reaches the device's socket).
    func gather(_ submission: IngestActor.Submission, from connection: any LoopIngestSource) {
        gathered.append(submission)
        gatheredFrom.append(connection)
        guard !handOffScheduled, !handingOff else { return }
        handOffScheduled = true
        // After the reads of this loop turn, so they travel together.
        eventLoop.assumeIsolated().execute { self.handOff() }
    }

    private func handOff() {
        handOffScheduled = false
        guard !handingOff, !gathered.isEmpty else { return }
        handingOff = true
        let batch = gathered
        let connections = NIOLoopBound(gatheredFrom, eventLoop: eventLoop)
        gathered = []
        gatheredFrom = []
        let ingest = self.ingest
        let loop = eventLoop
        let me = NIOLoopBound(self, eventLoop: loop)
        Task {
            await ingest.submit(batch: batch)
            loop.execute { me.value.accepted(connections.value) }
        }
    }

    private func accepted(_ connections: [any LoopIngestSource]) {
        handingOff = false
        for connection in connections { connection.handedOff() }
        if !gathered.isEmpty { handOff() }
    }
}

/// What hands messages to its loop's batch: a device connection, or an HTTP
/// connection whose writes the loop answers itself (`LoopWriteHandler`).
/// Called on the loop only.
protocol LoopIngestSource: AnyObject {
    /// The loop's batch with one of this source's messages was taken by the ingest actor.
    func handedOff()
    /// A message's outcome; its reply is written but not flushed.
    /// - Returns: true when this outcome gave the source its first reply to flush.
    func completed(_ outcome: IngestActor.Outcome) -> Bool
    /// Sends what `completed` wrote, once for all the outcomes of a commit.
    func flushReplies()
}

/// Where the ingest actor leaves the outcomes of one loop's messages. The
/// first outcome of a commit schedules one pass on the loop, which sends
/// every outcome that arrived by then.
final class AckOutbox: Sendable {
    struct Delivery: Sendable {
        let connection: NIOLoopBound<any LoopIngestSource>
        let outcome: IngestActor.Outcome
    }

    private let eventLoop: any EventLoop
    private let pending = Mutex<[Delivery]>([])

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func deliver(_ delivery: Delivery) {
        let first = pending.withLock { pending in
            pending.append(delivery)
            return pending.count == 1
        }
        if first { eventLoop.execute { self.drain() } }
    }

    private func drain() {
        let deliveries = pending.withLock { pending in
            defer { pending = [] }
            return pending
        }
        var toFlush: [any LoopIngestSource] = []
        for delivery in deliveries {
            let connection = delivery.connection.value
            if connection.completed(delivery.outcome) { toFlush.append(connection) }
        }
        for connection in toFlush { connection.flushReplies() }
    }
}
