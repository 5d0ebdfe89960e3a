public import TelehubCore

/// Which readings an export holds; nil means all.
public struct ExportFilter: Sendable, Equatable {
    public var devices: Set<String>?
    public var metrics: Set<String>?
    public var from: Int64
    public var to: Int64

    public init(devices: Set<String>? = nil, metrics: Set<String>? = nil, from: Int64? = nil, to: Int64? = nil) {
        self.devices = devices
        self.metrics = metrics
        self.from = from ?? .min
        self.to = to ?? .max
    }

    /// The filter of a validated export query.
    public init(_ query: ExportQuery) {
        self.init(devices: query.devices, metrics: query.metrics, from: query.from, to: query.to)
    }
}

/// One series of an export, in export order (device, then metric).
public struct ExportSeries: Sendable, Equatable {
    public var device: String
    public var metric: String
    package var deviceID: Int64
    package var metricID: Int64

    package init(device: String, metric: String, deviceID: Int64, metricID: Int64) {
        self.device = device
        self.metric = metric
        self.deviceID = deviceID
        self.metricID = metricID
    }
}
