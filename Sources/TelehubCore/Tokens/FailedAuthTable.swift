/// Failed authentications per client address, for `--auth-fail-limit`.
///
/// An address that fails `limit` times within `windowMs` is refused (429)
/// until its window passes. The table holds at most `capacity` addresses, so
/// a flood from many addresses cannot grow it: when full, expired windows are
/// dropped first, then an arbitrary entry.
public struct FailedAuthTable: Sendable {
    public let limit: Int
    public let windowMs: Int64
    public let capacity: Int

    private struct Entry: Sendable {
        var windowStart: Int64
        var failures: Int
    }

    private var entries: [String: Entry] = [:]

    public init(limit: Int, windowMs: Int64, capacity: Int = 10_000) {
        self.limit = limit
        self.windowMs = max(1, windowMs)
        self.capacity = max(1, capacity)
    }

    public var count: Int { entries.count }

    /// Milliseconds until the address may try again, or nil when it may now.
    public func retryAfterMs(_ address: String, now: Int64) -> Int64? {
        guard limit > 0, let entry = entries[address], entry.failures >= limit else { return nil }
        let end = entry.windowStart + windowMs
        return now < end ? end - now : nil
    }

    public mutating func recordFailure(_ address: String, now: Int64) {
        guard limit > 0 else { return }
        if var entry = entries[address], now < entry.windowStart + windowMs {
            entry.failures += 1
            entries[address] = entry
            return
        }
        if entries[address] == nil, entries.count >= capacity { makeRoom(now: now) }
        entries[address] = Entry(windowStart: now, failures: 1)
    }

    private mutating func makeRoom(now: Int64) {
        entries = entries.filter { now < $0.value.windowStart + windowMs }
        if entries.count >= capacity, let any = entries.first?.key { entries[any] = nil }
    }
}
