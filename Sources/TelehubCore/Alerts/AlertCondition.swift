/// What an alert rule watches for (contract v1.1, "Alerts").
public enum AlertCondition: Sendable, Equatable {
    /// A metric's committed values crossing a limit.
    case threshold(Threshold)
    /// A device that has sent nothing for this many milliseconds.
    case offline(afterMs: Int64)

    /// `above 8 for 60s, clears below 7.5`, as `alert list` and webhooks show it.
    public var text: String { text(unit: nil) }

    /// The text with the metric's unit after each number: `above 8 °C for 1m`.
    public func text(unit: String?) -> String {
        switch self {
        case .threshold(let threshold): threshold.text(unit: unit)
        case .offline(let afterMs): "offline for \(SpanParser.format(afterMs))"
        }
    }
}

/// A limit, how long it must hold, and where it clears (hysteresis).
public struct Threshold: Sendable, Equatable {
    public enum Direction: String, Sendable, Codable { case above, below }

    public var direction: Direction
    public var limit: Double
    /// How long, by the readings' own timestamps, the condition must hold
    /// before the alert fires; 0 fires on the first reading that meets it.
    public var forMs: Int64
    /// Where a firing alert clears: `--clear-below` for an `above` rule,
    /// `--clear-above` for a `below` one. Nil: as soon as the condition no
    /// longer holds.
    public var clearAt: Double?

    public init(direction: Direction, limit: Double, forMs: Int64 = 0, clearAt: Double? = nil) {
        self.direction = direction
        self.limit = limit
        self.forMs = forMs
        self.clearAt = clearAt
    }

    /// Strictly beyond the limit: `above 8` does not hold at 8.
    public func holds(_ value: Double) -> Bool {
        direction == .above ? value > limit : value < limit
    }

    /// Whether a firing alert clears at this value.
    public func clears(_ value: Double) -> Bool {
        guard let clearAt else { return !holds(value) }
        return direction == .above ? value < clearAt : value > clearAt
    }

    /// Nil when the numbers cannot describe a sensible rule, else why not.
    public var problem: String? {
        guard limit.isFinite else { return "the limit must be a finite number" }
        guard forMs >= 0 else { return "--for must not be negative" }
        if let clearAt {
            guard clearAt.isFinite else { return "the clear threshold must be a finite number" }
            switch direction {
            case .above where clearAt > limit: return "--clear-below must not be above the --above limit"
            case .below where clearAt < limit: return "--clear-above must not be below the --below limit"
            default: break
            }
        }
        return nil
    }

    func text(unit: String?) -> String {
        let unit = unit.map { " " + $0 } ?? ""
        var text = "\(direction.rawValue) \(AlertValue.format(limit))\(unit)"
        if forMs > 0 { text += " for \(SpanParser.format(forMs))" }
        if let clearAt { text += ", clears \(direction == .above ? "below" : "above") \(AlertValue.format(clearAt))\(unit)" }
        return text
    }
}

/// Numbers as people write them: `8`, not `8.0`.
enum AlertValue {
    static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
