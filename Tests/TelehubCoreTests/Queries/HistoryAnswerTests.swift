import Foundation
import Testing
import TelehubCore

@Suite struct HistoryAnswerTests {
    @Test func rawAndBucketsAsTheContractWritesThem() throws {
        let raw = HistoryAnswer(.raw([(ts: 1000, value: 21.5), (ts: 2000, value: 3)]))
        #expect(String(decoding: try JSONEncoder.wire.encode(raw), as: UTF8.self) == #"{"points":[[1000,21.5],[2000,3]],"step":0}"#)
        let buckets = HistoryAnswer(.buckets(step: 60_000, [(start: Int64(0), aggregate: Aggregate(sum: 6, min: 1, max: 3, count: 3))]))
        let json = try JSONEncoder.wire.encode(buckets)
        #expect(String(decoding: json, as: UTF8.self) == #"{"points":[[0,2,1,3,3]],"step":60000}"#)
        #expect(try JSONDecoder().decode(HistoryAnswer.self, from: json) == buckets)
    }

    /// Values that are not finite (only in files from before values were
    /// bounded) are written as null instead of failing the whole answer.
    @Test func valuesThatAreNotFiniteAreNull() throws {
        let answer = HistoryAnswer(.raw([(ts: 1, value: .infinity), (ts: 2, value: 1)]))
        #expect(String(decoding: try JSONEncoder.wire.encode(answer), as: UTF8.self) == #"{"points":[[1,null],[2,1]],"step":0}"#)
    }
}
