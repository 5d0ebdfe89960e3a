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
    let wheel: HeartbeatWheel

    /// Messages read in this loop turn, and the connection of each.
    private var gathered: [IngestActor.Submission] = []
    private var gatheredFrom: [DeviceConnectionHandler] = []
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
    func gather(_ submission: IngestActor.Submission, from connection: DeviceConnectionHandler) {
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

    private func accepted(_ connections: [DeviceConnectionHandler]) {
        handingOff = false
        for connection in connections { connection.handedOff() }
        if !gathered.isEmpty { handOff() }
    }
}

/// Where the ingest actor leaves the outcomes of one loop's messages. The
/// first outcome of a commit schedules one pass on the loop, which sends
/// every outcome that arrived by then.
final class AckOutbox: Sendable {
    struct Delivery: Sendable {
        let connection: NIOLoopBound<DeviceConnectionHandler>
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
        var toFlush: [DeviceConnectionHandler] = []
        for delivery in deliveries {
            let connection = delivery.connection.value
            if connection.completed(delivery.outcome) { toFlush.append(connection) }
        }
        for connection in toFlush { connection.flushReplies() }
    }
}

/// The heartbeat of one loop's connections: one timer for all of them, not one
/// per connection. Each connection sits in one slot of the wheel; a slot is
/// visited every tick (100 ms, at least four a turn), so each connection is
/// visited once an interval. Connections are spread over the slots, so the
/// pings of 10,000 devices go out a few dozen at a time, not in one burst
/// that would stall the loop.
final class HeartbeatWheel {
    private let slotCount: Int
    private let eventLoop: any EventLoop
    private let tick: TimeAmount
    private var slots: [[ObjectIdentifier: DeviceConnectionHandler]]
    private var current = 0
    private var running = false

    init(eventLoop: any EventLoop, interval: TimeAmount) {
        self.eventLoop = eventLoop
        let slotCount = Int(max(4, min(1200, interval.nanoseconds / 100_000_000)))
        self.slotCount = slotCount
        self.tick = .nanoseconds(max(1_000_000, interval.nanoseconds / Int64(slotCount)))
        self.slots = Array(repeating: [:], count: slotCount)
    }

    /// Places a connection half a turn to a whole turn ahead, at random: a
    /// thousand devices that connect in the same second are spread over half
    /// the wheel, and none is pinged before half an interval.
    /// - Returns: the slot, for `remove`.
    func add(_ connection: DeviceConnectionHandler) -> Int {
        let slot = (current + Int.random(in: (slotCount / 2)...slotCount)) % slotCount
        slots[slot][ObjectIdentifier(connection)] = connection
        if !running {
            running = true
            schedule()
        }
        return slot
    }

    func remove(_ connection: DeviceConnectionHandler, slot: Int) {
        slots[slot][ObjectIdentifier(connection)] = nil
    }

    private func schedule() {
        eventLoop.assumeIsolated().scheduleTask(in: tick) { self.turn() }
    }

    private func turn() {
        current = (current + 1) % slotCount
        for connection in slots[current].values { connection.heartbeat() }
        // Idle loops keep no timer.
        if slots.allSatisfy(\.isEmpty) {
            running = false
        } else {
            schedule()
        }
    }
}
