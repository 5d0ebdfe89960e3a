import Foundation
import Testing
import TelehubCore
@testable import TelehubCodec

/// Replays the committed corpus of the `FuzzChunk` libFuzzer target
/// (Tests/FuzzCorpus/FuzzChunk/) through the same checks, so every input the
/// fuzzer found interesting stays covered by `swift test`.
@Suite struct ChunkFuzzCorpusTests {
    static let folder = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("FuzzCorpus/FuzzChunk")

    @Test func theCorpusKeepsItsInvariants() throws {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).filter { !$0.hasPrefix(".") }
        #expect(names.count >= 10, "no corpus in \(Self.folder.path)")
        for name in names.sorted() {
            let bytes = Array(try Data(contentsOf: Self.folder.appendingPathComponent(name)))
            do {
                try ChunkFuzzInvariants.check(bytes)
            } catch {
                Issue.record("FuzzChunk/\(name): \(error)")
            }
        }
    }
}
