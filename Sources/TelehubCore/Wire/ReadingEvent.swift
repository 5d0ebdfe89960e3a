/// The `data` of a stream `reading` event: `{"device":…,"ts":…,"metrics":{…}}`.
public struct ReadingEvent: Sendable, Equatable, Codable {
    public var device: String
    public var ts: Int64
    public var metrics: [String: Double]

    public init(device: String, ts: Int64, metrics: [String: Double]) {
        self.device = device
        self.ts = ts
        self.metrics = metrics
    }

    /// The event's JSON, written by hand: the hub writes one of these per
    /// committed reading, and `telehub bench` compares this with
    /// `JSONEncoder` in the same run (it came out about twice as fast).
    /// `ReadingEventTests` checks that both write the same JSON.
    /// - Parameter metrics: the reading's values, or the part a subscriber's filter keeps.
    public static func json(device: String, ts: Int64, metrics: [MetricValue]) -> String {
        var text = #"{"device":"#
        text += JSONText.quoted(device)
        text += #","ts":\#(ts),"metrics":{"#
        for (index, metric) in metrics.enumerated() {
            if index > 0 { text += "," }
            text += JSONText.quoted(metric.name)
            text += ":"
            text += NumberText.format(metric.value)
        }
        return text + "}}"
    }
}
