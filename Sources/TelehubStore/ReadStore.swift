public import TelehubCore

/// What readers see: devices with their latest values, history and export.
public protocol ReadStore: Sendable {
    /// Every device with its latest values; `online` is left false for the
    /// caller, which knows the live connections, to fill in.
    func deviceStatuses() async throws -> [DeviceStatus]
    func deviceStatus(named name: String) async throws -> DeviceStatus?

    /// A series' values in `[from, to]`: raw when there are at most `points`,
    /// else equal buckets built from the coarsest rollup that fits.
    /// - Returns: nil when the device never reported this metric.
    func history(device: String, metric: String, from: Int64, to: Int64, points: Int) async throws -> MetricHistory?
    /// The series an export covers, in export order.
    func exportSeries(_ filter: ExportFilter) async throws -> [ExportSeries]
    /// One page of a series' values after `after`, for streaming in constant memory.
    func exportPage(_ series: ExportSeries, _ filter: ExportFilter, after: Int64?, limit: Int) async throws
        -> [(ts: Int64, value: Double)]
}
