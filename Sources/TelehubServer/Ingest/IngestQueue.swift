/// The ingest actor's queue and flush policy, without the waiting: how many
/// values wait, whether a new message fits (`capacity`, else backpressure),
/// whether enough wait to flush now (`flushValues`), and which messages make
/// up the next flush. Items are weighed in values (readings × metrics, at
/// least 1), the unit every limit counts in.
struct IngestQueue<Item> {
    let flushValues: Int
    /// Values that may wait at most; a message that finds the queue at or
    /// above it waits for room.
    let capacity: Int

    private(set) var items: [(item: Item, weight: Int)] = []
    /// The weights of `items`, summed.
    private(set) var values = 0

    init(flushValues: Int, capacity: Int) {
        self.flushValues = max(1, flushValues)
        self.capacity = max(capacity, self.flushValues)
    }

    var isEmpty: Bool { items.isEmpty }
    var hasRoom: Bool { values < capacity }
    /// Enough waits for a flush not to wait for the interval.
    var isFlushDue: Bool { values >= flushValues }

    mutating func append(_ item: Item, weight: Int) {
        items.append((item, max(1, weight)))
        values += max(1, weight)
    }

    /// The next flush: messages from the front worth at most `flushValues`
    /// values, and always at least one (a message larger than that goes alone).
    mutating func takeChunk() -> [Item] {
        var taken = 0
        var count = 0
        while count < items.count, count == 0 || taken + items[count].weight <= flushValues {
            taken += items[count].weight
            count += 1
        }
        let chunk = items.prefix(count).map(\.item)
        items.removeFirst(count)
        values -= taken
        return chunk
    }

    /// Takes out every waiting item `matching`, in order.
    mutating func removeAll(where matching: (Item) -> Bool) -> [Item] {
        let removed = items.filter { matching($0.item) }.map(\.item)
        items.removeAll { matching($0.item) }
        values = items.reduce(0) { $0 + $1.weight }
        return removed
    }
}
