public import TelehubCore

/// Devices and how their metrics are shown.
public protocol DeviceCatalog: Sendable {
    func devices() async throws -> [DeviceRecord]
    /// The id of the named device, created when it does not exist yet.
    func ensureDevice(named name: String) async throws -> Int64
    /// Deletes the device with its readings and tokens. - Returns: false when unknown.
    func deleteDevice(named name: String) async throws -> Bool

    /// Sets how a metric is shown (unit, label); both nil removes the setting.
    func setMetricDisplay(_ display: MetricDisplay) async throws
    func metricDisplays() async throws -> [MetricDisplay]
    /// Devices with their last message time (`tokens` left 0), cheaply, for the offline watch.
    func deviceActivity() async throws -> [DeviceRecord]
}
