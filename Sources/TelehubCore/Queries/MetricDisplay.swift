/// How a metric is shown to people: its unit (`°C`) and a label ("Air
/// temperature"), for one device or, with `device` nil, for the metric on
/// every device that has no setting of its own.
public struct MetricDisplay: Sendable, Equatable, Codable {
    public var device: String?
    public var metric: String
    public var unit: String?
    public var label: String?

    public init(device: String?, metric: String, unit: String?, label: String?) {
        self.device = device
        self.metric = metric
        self.unit = unit
        self.label = label
    }

    public static let maxUnitBytes = 16
    public static let maxLabelBytes = 64

    /// Nil when it may be stored, else what is wrong.
    public var problem: String? {
        if let device, !NameRules.isValidDeviceName(device) { return "--device must be a device name or '*'" }
        guard NameRules.isValidMetricName(metric) else { return "--metric must be a metric name" }
        if let unit, !Self.isPrintable(unit, maxBytes: Self.maxUnitBytes) {
            return "--unit must be at most \(Self.maxUnitBytes) bytes of printable text"
        }
        if let label, !Self.isPrintable(label, maxBytes: Self.maxLabelBytes) {
            return "--label must be at most \(Self.maxLabelBytes) bytes of printable text"
        }
        return nil
    }

    private static func isPrintable(_ text: String, maxBytes: Int) -> Bool {
        text.utf8.count <= maxBytes && text.unicodeScalars.allSatisfy { $0.value >= 0x20 && !(0x7f...0x9f).contains($0.value) }
    }
}

/// Every display setting, answering for one device's metric: its own
/// setting first, then the metric's setting for every device.
public struct MetricDisplayBook: Sendable, Equatable {
    private var exact: [String: [String: MetricDisplay]] = [:]
    private var everyDevice: [String: MetricDisplay] = [:]

    public init(_ settings: [MetricDisplay] = []) {
        for setting in settings {
            if let device = setting.device { exact[device, default: [:]][setting.metric] = setting } else { everyDevice[setting.metric] = setting }
        }
    }

    public func display(device: String, metric: String) -> (unit: String?, label: String?) {
        let own = exact[device]?[metric]
        let shared = everyDevice[metric]
        return (own?.unit ?? shared?.unit, own?.label ?? shared?.label)
    }
}
