import NIOCore

/// What a heartbeat wheel visits: a device connection, which pings its device
/// or drops it after two silent intervals.
protocol HeartbeatTarget: AnyObject {
    func heartbeat()
}

extension DeviceConnectionHandler: HeartbeatTarget {}

/// The heartbeat of one loop's connections: one timer for all of them, not one
/// per connection. Each connection sits in one slot of the wheel; a slot is
/// visited every tick (100 ms, at least four a turn), so each connection is
/// visited once an interval. Connections are spread over the slots, so the
/// pings of 10,000 devices go out a few dozen at a time, not in one burst
/// that would stall the loop.
final class HeartbeatWheel<Target: HeartbeatTarget> {
    private let slotCount: Int
    private let eventLoop: any EventLoop
    private let tick: TimeAmount
    private var slots: [[ObjectIdentifier: Target]]
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
    func add(_ connection: Target) -> Int {
        let slot = (current + Int.random(in: (slotCount / 2)...slotCount)) % slotCount
        slots[slot][ObjectIdentifier(connection)] = connection
        if !running {
            running = true
            schedule()
        }
        return slot
    }

    func remove(_ connection: Target, slot: Int) {
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
