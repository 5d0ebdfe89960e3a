/// Puts entries of the shared stream log into position order, without gaps
/// or repeats, whether they arrive from this hub's own commits (at once) or
/// from reading the log (this hub's and the others').
///
/// Positions are gapless in the log (see `SharedStream`), so an entry that
/// starts past the next expected position waits until the ones before it
/// arrive; the caller then reads the log from `delivered`.
struct StreamSequencer<Entry> {
    /// The last position handed out.
    private(set) var delivered: Int64
    /// Entries past a gap, by first position.
    private var waiting: [Int64: (last: Int64, entry: Entry)] = [:]
    /// Most entries kept past a gap; beyond, the oldest waiting goes (the log has it).
    let capacity: Int

    init(after position: Int64, capacity: Int = 1024) {
        self.delivered = position
        self.capacity = max(1, capacity)
    }

    /// True while an entry waits for earlier positions: read the log after `delivered`.
    var hasGap: Bool { !waiting.isEmpty }

    /// Takes an entry covering `first...last`.
    /// - Returns: the entries that can be handed out now, in order (this one
    ///   and any that waited for it); none when it was seen before or waits.
    mutating func accept(first: Int64, last: Int64, _ entry: Entry) -> [Entry] {
        guard last > delivered, first <= last else { return [] }  // seen before (or malformed)
        guard first == delivered + 1 else {
            if first > delivered + 1 {
                waiting[first] = (last, entry)
                if waiting.count > capacity, let oldest = waiting.keys.max() { waiting[oldest] = nil }
            }
            return []
        }
        var ready = [entry]
        delivered = last
        while let next = waiting.removeValue(forKey: delivered + 1) {
            ready.append(next.entry)
            delivered = next.last
        }
        // Anything left behind the new position was a repeat.
        for (start, item) in waiting where item.last <= delivered || start <= delivered { waiting[start] = nil }
        return ready
    }
}
