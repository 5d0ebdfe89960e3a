import Foundation
import Testing
import TelehubCore

/// Properties of validation over many generated messages: every valid message
/// is accepted exactly as written, and every mutation of one is answered
/// (accepted within the bounds, or refused with a final error), never a crash.
@Suite struct ValidationPropertyTests {
    static let now: Int64 = 1_732_200_000_000
    let validator = MessageValidator(limits: IngestLimits(maxBatch: 50, maxMetricsPerReading: 8))

    /// A random valid batch and the readings it must decode to.
    static func validBatch(_ random: inout SplitMix) -> (text: String, seq: Int64, readings: [Reading]) {
        let seq = Int64.random(in: 1...IngestLimits.maxSeq, using: &random)
        let readings = (0..<Int.random(in: 1...50, using: &random)).map { _ in
            let ts = Int64.random(in: IngestLimits.earliestTimestamp...(now + 600_000), using: &random)
            let names = Set((0..<Int.random(in: 1...8, using: &random)).map { _ in metricName(&random) })
            let metrics = names.sorted().map { MetricValue(name: $0, value: value(&random)) }
            return Reading(ts: ts, metrics: metrics)
        }
        let items = readings.map { reading in
            let fields = reading.metrics.map { "\(JSONText.quoted($0.name)):\(json($0.value))" }.joined(separator: ",")
            return #"{"ts":\#(reading.ts),"metrics":{\#(fields)}}"#
        }
        return (#"{"type":"batch","seq":\#(seq),"readings":[\#(items.joined(separator: ","))]}"#, seq, readings)
    }

    static func metricName(_ random: inout SplitMix) -> String {
        let first = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
        let rest = first + Array("0123456789.-")
        return String(first.randomElement(using: &random)!)
            + String((0..<Int.random(in: 0...20, using: &random)).map { _ in rest.randomElement(using: &random)! })
    }

    /// Values a sensor sends: decimals, integers, and the extremes of the bound.
    static func value(_ random: inout SplitMix) -> Double {
        switch Int.random(in: 0..<4, using: &random) {
        case 0: (Double.random(in: -100...100, using: &random) * 100).rounded() / 100
        case 1: Double(Int.random(in: -1_000_000...1_000_000, using: &random))
        case 2: Double.random(in: -1e100...1e100, using: &random)
        default: [1e100, -1e100, 0, Double.leastNonzeroMagnitude][Int.random(in: 0..<4, using: &random)]
        }
    }

    /// The shortest text that reads back as the same Double.
    static func json(_ value: Double) -> String {
        value.rounded() == value && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
    }

    @Test func everyValidMessageIsAcceptedExactly() throws {
        var random = SplitMix(seed: 7)
        for _ in 0..<500 {
            let (text, seq, readings) = Self.validBatch(&random)
            let result = validator.validate(text, now: Self.now)
            guard case .success(.ingest(let message)) = result else {
                Issue.record("refused a valid message: \(result)\n\(text.prefix(300))")
                return
            }
            #expect(message.seq == seq)
            #expect(message.readings == readings)
        }
    }

    @Test func everyMutationIsAnsweredWithinTheBounds() throws {
        var random = SplitMix(seed: 11)
        var accepted = 0
        var refused = 0
        for _ in 0..<3000 {
            var bytes = Array(Self.validBatch(&random).text.utf8)
            for _ in 0..<Int.random(in: 1...4, using: &random) { Self.mutate(&bytes, &random) }
            switch validator.validate(bytes, now: Self.now) {
            case .success(.ingest(let message)):
                accepted += 1
                Self.checkBounds(message, validator.limits)
            case .success(.ping):
                accepted += 1
            case .failure(let rejection):
                refused += 1
                #expect(!rejection.code.isRetryable)
                #expect(!rejection.message.isEmpty && rejection.message.utf8.count < 1000)
            }
        }
        #expect(refused > 1000, "mutations should mostly be refused")
        #expect(accepted + refused == 3000)
    }

    static func mutate(_ bytes: inout [UInt8], _ random: inout SplitMix) {
        guard !bytes.isEmpty else { return }
        let index = Int.random(in: 0..<bytes.count, using: &random)
        let interesting: [[UInt8]] = [
            Array("9007199254740992".utf8), Array("1e308".utf8), Array("-0".utf8), Array("null".utf8), Array("[".utf8),
            Array("\"".utf8), [0xFF], [0xC3], Array("\\u0000".utf8), Array("{}".utf8), Array("NaN".utf8),
        ]
        switch Int.random(in: 0..<5, using: &random) {
        case 0: bytes[index] = UInt8.random(in: 0...255, using: &random)
        case 1: bytes.remove(at: index)
        case 2: bytes.insert(contentsOf: interesting.randomElement(using: &random)!, at: index)
        case 3: bytes.removeSubrange(index..<min(bytes.count, index + Int.random(in: 1...16, using: &random)))
        default: bytes = Array(bytes.prefix(index))
        }
    }

    static func checkBounds(_ message: IngestMessage, _ limits: IngestLimits) {
        if let seq = message.seq { #expect((1...IngestLimits.maxSeq).contains(seq)) }
        #expect((1...limits.maxBatch).contains(message.readings.count))
        for reading in message.readings {
            #expect((IngestLimits.earliestTimestamp...(now + limits.maxFutureSkewMs)).contains(reading.ts))
            #expect((1...limits.maxMetricsPerReading).contains(reading.metrics.count))
            for metric in reading.metrics {
                #expect(metric.value.isFinite && abs(metric.value) <= IngestLimits.maxMagnitude)
                #expect(NameRules.isValidMetricName(metric.name))
            }
        }
    }
}
