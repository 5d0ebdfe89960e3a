/// The `--max-series` bound: how many distinct metrics one device may have.
///
/// Without it a device could create metrics without end, and with them rows,
/// rollups and the id caches of the store. A message that would pass the
/// bound is refused whole; metrics the device already has keep working.
public struct SeriesLimit: Sendable {
    public let maxSeries: Int
    private var known: [Int64: Set<String>] = [:]

    public init(maxSeries: Int) {
        self.maxSeries = max(1, maxSeries)
    }

    /// Whether the device's metrics have been learned from the store.
    public func knows(_ deviceID: Int64) -> Bool {
        known[deviceID] != nil
    }

    /// Records the metrics a device already has in the store.
    public mutating func learn(_ deviceID: Int64, _ names: some Sequence<String>) {
        known[deviceID, default: []].formUnion(names)
    }

    /// Admits the message and counts its new metrics, or returns why not.
    /// A message of known metrics only (the usual case) costs lookups, no copy,
    /// and a reading with the same names as the one before it (a batch of one
    /// sensor's readings) costs comparisons, not lookups: hashing every name
    /// of every reading was 6% of the hub's CPU on 100-line `/write` bodies,
    /// on the ingest actor that every connection waits for.
    public mutating func admit(_ deviceID: Int64, _ message: IngestMessage) -> String? {
        let names = known[deviceID] ?? []
        var new: Set<String> = []
        var checked: [MetricValue] = []
        for reading in message.readings {
            if Self.sameNames(reading.metrics, checked) { continue }
            for metric in reading.metrics where !names.contains(metric.name) { new.insert(metric.name) }
            checked = reading.metrics
        }
        guard !new.isEmpty else { return nil }
        guard names.count + new.count <= maxSeries else {
            return "this message would give the device \(names.count + new.count) metrics (\(new.count) new); at most \(maxSeries)"
        }
        known[deviceID, default: []].formUnion(new)
        return nil
    }

    private static func sameNames(_ metrics: [MetricValue], _ checked: [MetricValue]) -> Bool {
        guard metrics.count == checked.count, !metrics.isEmpty else { return false }
        for index in metrics.indices where metrics[index].name != checked[index].name { return false }
        return true
    }

    public mutating func forget(_ deviceID: Int64) {
        known[deviceID] = nil
    }

    public mutating func forgetAll() {
        known = [:]
    }
}
