import Foundation
import TelehubCore

/// The stream writes one `reading` event per committed reading: its JSON is
/// written by hand (`ReadingEvent.json`) only because this shows it pays.
public enum StreamEventBenchmark {
    /// Encodes `count` events each way and prints both rates.
    public static func report(count: Int = 100_000, say: (String) -> Void) throws {
        let metrics = [MetricValue(name: "humidity", value: 41.25), MetricValue(name: "temperature", value: 21.37)]
        let encoder = JSONEncoder.wire
        var bytes = 0
        let encoded = try ContinuousClock().measure {
            for index in 0..<count {
                let event = ReadingEvent(
                    device: "greenhouse-1", ts: 1_732_200_000_000 + Int64(index),
                    metrics: Dictionary(uniqueKeysWithValues: metrics.map { ($0.name, $0.value) }))
                bytes &+= try encoder.encode(event).count
            }
        }
        let written = ContinuousClock().measure {
            for index in 0..<count {
                bytes &+= ReadingEvent.json(device: "greenhouse-1", ts: 1_732_200_000_000 + Int64(index), metrics: metrics).utf8.count
            }
        }
        say("stream events: \(count) reading events of 2 metrics (\(bytes / (2 * count)) bytes each)")
        say(String(format: "  JSONEncoder (baseline): %8.0f events/s", Double(count) / (encoded / .seconds(1))))
        say(String(format: "  ReadingEvent.json:      %8.0f events/s  (%.1fx faster)",
                   Double(count) / (written / .seconds(1)), encoded / written))
    }
}
