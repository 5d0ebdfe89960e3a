/// What a store that several hubs share adds: one log of the live stream's
/// events in commit order, so every hub shows every commit and stream ids
/// mean the same on each of them.
///
/// A position is a stream id. A commit that carries a `PendingStreamEntry`
/// takes the next `positions` of them in its own transaction, after every
/// commit that took positions before it has committed: positions are gapless
/// and in commit order, so a reader that has seen position p and finds p + 1
/// missing knows it has not been committed yet (or never will: a rolled-back
/// transaction takes no positions).
public protocol SharedStream: Sendable {
    /// The newest position taken, 0 when none.
    func streamHead() async throws -> Int64
    /// Entries that end after `position`, in order, at most `limit`.
    func streamEntries(after position: Int64, limit: Int) async throws -> [StreamEntry]
    /// Appends an entry on its own (events that no commit carries).
    func appendStream(_ entry: PendingStreamEntry) async throws -> ClosedRange<Int64>
    /// Wakes the caller soon after another hub's commit appended to the log.
    /// The log stays the truth: a missed wake-up costs a poll interval, not an event.
    func streamWakeups() -> AsyncStream<Void>
    /// Forgets entries older than `cutoff` (ms since the epoch) beyond the newest `keep`.
    func trimStream(olderThan cutoff: Int64, keep: Int) async throws

    /// True while this process holds the store's leader lock, false while
    /// another does; the lock goes to another hub when its holder dies.
    func leadership() -> AsyncStream<Bool>

    // MARK: Device connections across hubs

    /// Records that the hub `instance` is alive at `at`.
    func beat(instance: String, at: Int64) async throws
    /// A device connection began on `instance`; it is now the device's current one.
    /// - Returns: true when the device already had a connection on a hub alive since `aliveAfter`.
    func connectionOpened(deviceID: Int64, instance: String, connection: String, at: Int64, aliveAfter: Int64) async throws -> Bool
    /// A device connection ended. - Returns: true when it was still the device's
    /// current connection, so the device is offline now.
    func connectionClosed(deviceID: Int64, instance: String, connection: String) async throws -> Bool
    /// Devices with a current connection on a hub alive since `aliveAfter`.
    func onlineDevices(aliveAfter: Int64) async throws -> Set<String>
    /// Forgets the connections of hubs silent since `aliveAfter` (killed, cut off).
    /// - Returns: the names of their devices, offline now.
    func reapConnections(aliveAfter: Int64) async throws -> [String]
}

/// The stream events of one commit, to be logged with it.
public struct PendingStreamEntry: Sendable, Equatable {
    /// How many positions the entry takes (one per event that carries an id, at least one).
    public var positions: Int
    /// The hub that wrote it, so it can tell its own entries from others'.
    public var instance: String
    /// The events, encoded by the server (opaque to the store).
    public var body: String

    public init(positions: Int, instance: String, body: String) {
        self.positions = max(1, positions)
        self.instance = instance
        self.body = body
    }
}

/// A logged entry: positions `first...last`, written at `at` by `instance`.
public struct StreamEntry: Sendable, Equatable {
    public var first: Int64
    public var last: Int64
    public var instance: String
    public var at: Int64
    public var body: String

    public init(first: Int64, last: Int64, instance: String, at: Int64, body: String) {
        self.first = first
        self.last = last
        self.instance = instance
        self.at = at
        self.body = body
    }
}
