import Foundation
import Testing
import TelehubCore

@Suite struct JSONTextTests {
    @Test func quotesLikeAJSONEncoder() throws {
        for text in ["greenhouse-1", "a\"b", "back\\slash", "line\nbreak\ttab", "\u{01}", "é ✓"] {
            let quoted = JSONText.quoted(text)
            let decoded = try JSONDecoder().decode(String.self, from: Data(quoted.utf8))
            #expect(decoded == text, "\(quoted)")
        }
        #expect(JSONText.quoted("a\"b") == #""a\"b""#)
        #expect(JSONText.quoted("\u{01}") == #""\u0001""#)
    }

    /// Found by fuzzing: widening one hour at a time took hundreds of millions
    /// of steps for one point over most of 2^53 ms (43 s under the fuzzer). The
    /// hub plans buckets only for ranges holding data, so no request reached
    /// it; the planner is public and must not depend on that.
    @Test(arguments: [
        (Int64(900_719_954_740_991), Int64(9_007_199_254_740_991), 1),
        (Int64(1), Int64(9_007_199_254_740_991), 1),
        (Int64(3_599_999), Int64(9_007_199_254_740_991), 2),
        (Int64(123_456_789), Int64(9_007_199_254_740_990), 3),
    ])
    func extremeRangesArePlannedAtOnce(from: Int64, to: Int64, points: Int) {
        let clock = ContinuousClock()
        var plan: BucketPlan?
        let elapsed = clock.measure { plan = BucketPlan(from: from, to: to, points: points) }
        guard let plan else { return }
        #expect(plan.bucket(of: to) - plan.bucket(of: from) + 1 <= Int64(points))
        #expect(plan.origin <= from && plan.origin % plan.step == 0)
        #expect(elapsed < .seconds(1), "a hang check, not a speed target: before the fix this took minutes")
    }
}
