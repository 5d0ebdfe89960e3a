/// A stored alert rule: a condition on one device's metric, or on that
/// metric of every device, and where its notifications go.
public struct AlertRule: Sendable, Equatable, Identifiable {
    public enum Severity: String, Sendable, Codable, CaseIterable { case warning, critical }

    public var id: Int64
    public var name: String
    /// A device name, or nil for `--device '*'` (every device with the metric).
    public var device: String?
    /// The watched metric; nil for an offline rule.
    public var metric: String?
    public var condition: AlertCondition
    public var severity: Severity
    public var webhook: String?
    /// The HMAC key for `X-Telehub-Signature`; never shown after creation.
    public var secret: String?

    public init(
        id: Int64, name: String, device: String?, metric: String?, condition: AlertCondition,
        severity: Severity = .warning, webhook: String? = nil, secret: String? = nil
    ) {
        self.id = id
        self.name = name
        self.device = device
        self.metric = metric
        self.condition = condition
        self.severity = severity
        self.webhook = webhook
        self.secret = secret
    }

    /// Whether the rule watches this device.
    public func watches(device name: String) -> Bool { device == nil || device == name }
}

/// The bounds of a rule's fields, and their checks, in one place for the
/// CLI and the store.
public enum AlertRuleBounds {
    public static let maxNameBytes = 64
    public static let maxWebhookBytes = 2048
    public static let maxSecretBytes = 256
    public static let maxRules = 10_000
    /// The longest `--for` and `--offline`: a week.
    public static let maxSpanMs: Int64 = 7 * 86_400_000

    /// Nil when the rule may be stored, else what is wrong with it.
    public static func problem(with rule: AlertRule) -> String? {
        guard !rule.name.isEmpty, rule.name.utf8.count <= maxNameBytes,
            rule.name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f })
        else { return "--name must be 1 to \(maxNameBytes) bytes of printable text" }
        if let device = rule.device, !NameRules.isValidDeviceName(device) {
            return "--device must be a device name or '*'"
        }
        switch rule.condition {
        case .threshold(let threshold):
            guard let metric = rule.metric, NameRules.isValidMetricName(metric) else { return "--metric must be a metric name" }
            if let problem = threshold.problem { return problem }
            guard threshold.forMs <= maxSpanMs else { return "--for must be at most 7d" }
        case .offline(let afterMs):
            guard rule.metric == nil else { return "--offline takes no --metric" }
            guard afterMs > 0, afterMs <= maxSpanMs else { return "--offline must be between 1s and 7d" }
        }
        if let webhook = rule.webhook {
            guard webhook.utf8.count <= maxWebhookBytes, webhook.hasPrefix("http://") || webhook.hasPrefix("https://"),
                webhook.utf8.count > 8, !webhook.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f })
            else { return "--webhook must be an http:// or https:// URL of at most \(maxWebhookBytes) bytes" }
        }
        if let secret = rule.secret {
            guard rule.webhook != nil else { return "--secret needs --webhook" }
            guard !secret.isEmpty, secret.utf8.count <= maxSecretBytes else { return "--secret must be 1 to \(maxSecretBytes) bytes" }
        }
        return nil
    }
}
