import TelehubStore

/// The last few metric names looked up, with their ids: a flush repeats a
/// handful of names thousands of times, and comparing a short name (stored
/// inline in the `String`) is cheaper than hashing it. Measured with
/// `telehub bench`: dictionary lookups were 5% of a commit's time.
struct RecentMetrics {
    private var names: [String] = []
    private var ids: [Int64] = []
    private var next = 0
    static let capacity = 16

    init() {
        names.reserveCapacity(Self.capacity)
        ids.reserveCapacity(Self.capacity)
    }

    /// The id of `name`, from the recent ones or else from `all`.
    mutating func id(of name: String, in all: [String: Int64]) -> Int64? {
        for index in names.indices where names[index] == name { return ids[index] }
        guard let id = all[name] else { return nil }
        if names.count < Self.capacity {
            names.append(name)
            ids.append(id)
        } else {
            names[next] = name
            ids[next] = id
            next = (next + 1) % Self.capacity
        }
        return id
    }
}
