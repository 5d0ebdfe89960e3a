/// A ring of the newest reading events, kept for `Last-Event-ID`, and the rule
/// for what a stream that resumes gets.
struct ReplayBuffer {
    private var storage: [LiveEvent] = []
    private var start = 0
    let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
        storage.reserveCapacity(self.capacity)
    }

    mutating func append(_ event: LiveEvent) {
        if storage.count < capacity {
            storage.append(event)
        } else {
            storage[start] = event
            start = (start + 1) % capacity
        }
    }

    /// What a stream that last saw `lastEventID` gets, when the newest event
    /// has id `current` (the stream's resume and reset rules).
    func resume(after lastEventID: Int64?, current: Int64) -> Resume {
        guard let lastEventID else { return .fresh }
        if lastEventID == current { return .replay([]) }
        // An id ahead of this process (an earlier one's, or made up) cannot be resumed.
        guard lastEventID < current, let missed = events(after: lastEventID) else { return .reset }
        return .replay(missed)
    }

    enum Resume: Equatable {
        /// No position: a snapshot, then live events.
        case fresh
        /// The events after the position, then live ones.
        case replay([LiveEvent])
        /// The position is outside the window: `reset`, a snapshot, then live events.
        case reset
    }

    /// The events after `id`, or nil when `id` is older than the window.
    func events(after id: Int64) -> [LiveEvent]? {
        let ordered = Array(storage[start...] + storage[..<start])
        guard let first = ordered.first?.id else { return nil }
        guard id >= first - 1 else { return nil }
        return ordered.filter { ($0.id ?? 0) > id }
    }
}
