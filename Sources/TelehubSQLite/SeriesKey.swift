import TelehubStore

/// One series: a device's metric, by their ids.
struct SeriesKey: Hashable, Comparable, Sendable {
    var deviceID: Int64
    var metricID: Int64

    static func < (lhs: SeriesKey, rhs: SeriesKey) -> Bool {
        (lhs.deviceID, lhs.metricID) < (rhs.deviceID, rhs.metricID)
    }
}
