import Foundation
import Testing
import TelehubCore

/// Replays the committed fuzz corpus (Tests/FuzzCorpus/<target>/) through the
/// same checks the libFuzzer targets in Fuzz/ make (`FuzzInvariants`), so
/// every input the fuzzer once found interesting stays covered by
/// `swift test` without libFuzzer. The store and Hummingbird parts of the
/// targets are left out: this target sees TelehubCore only.
@Suite struct FuzzCorpusReplayTests {
    static let corpus = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("FuzzCorpus")

    /// The files of one target's corpus, by name.
    static func inputs(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
        let folder = corpus.appendingPathComponent(target)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }.sorted()
        return try names.map { name in
            (name, Array(try Data(contentsOf: folder.appendingPathComponent(name))))
        }
    }

    static func replay(_ target: String, _ check: ([UInt8]) throws(FuzzInvariants.Violation) -> Void) throws {
        let inputs = try inputs(target)
        #expect(!inputs.isEmpty, "no corpus in \(corpus.path)/\(target)")
        for (name, bytes) in inputs {
            do {
                try check(bytes)
            } catch {
                Issue.record("\(target)/\(name): \(error)")
            }
        }
    }

    /// The store target's inputs are device messages too.
    @Test(arguments: ["FuzzMessage", "FuzzStoreWrite"])
    func messages(_ target: String) throws {
        try Self.replay(target) { bytes throws(FuzzInvariants.Violation) in try FuzzInvariants.checkMessage(bytes) }
    }

    @Test func queries() throws {
        try Self.replay("FuzzQueries") { bytes throws(FuzzInvariants.Violation) in
            try FuzzInvariants.checkQueryString(String(decoding: bytes, as: UTF8.self))
        }
    }

    @Test func headers() throws {
        try Self.replay("FuzzHeaders") { bytes throws(FuzzInvariants.Violation) in
            try FuzzInvariants.checkHeaderValue(String(decoding: bytes, as: UTF8.self))
        }
    }

    @Test func lineProtocol() throws {
        try Self.replay("FuzzLineProtocol") { bytes throws(FuzzInvariants.Violation) in try FuzzInvariants.checkLineProtocol(bytes) }
    }

    @Test func promQueries() throws {
        try Self.replay("FuzzPromQL") { bytes throws(FuzzInvariants.Violation) in
            try FuzzInvariants.checkPromQuery(String(decoding: bytes, as: UTF8.self))
        }
    }

    /// The checks themselves catch what they claim to: a broken answer is a violation.
    @Test func theChecksRejectBrokenAnswers() {
        #expect(throws: FuzzInvariants.Violation.self) {
            try FuzzInvariants.checkResult(
                .failure(IngestRejection(.rateLimited, "slow down")), limits: IngestLimits(), requiresSeq: true)
        }
        #expect(throws: FuzzInvariants.Violation.self) {
            let reading = Reading(ts: FuzzInvariants.now, metrics: [MetricValue(name: "a", value: 1e101)])
            try FuzzInvariants.checkResult(
                .success(.ingest(IngestMessage(seq: 1, readings: [reading]))), limits: IngestLimits(), requiresSeq: true)
        }
        #expect(throws: FuzzInvariants.Violation.self) {
            try FuzzInvariants.checkResult(
                .success(.ingest(IngestMessage(seq: nil, readings: [Reading(ts: 0, metrics: [])]))),
                limits: IngestLimits(), requiresSeq: false)
        }
    }
}
