import Foundation
import TelehubCore
import Testing
@testable import TelehubDevice

@Suite struct BackoffTests {
    @Test func boundsGrowToTheCapAndResetWhenStable() {
        var backoff = Backoff(base: .milliseconds(100), cap: .seconds(2), stableAfter: .seconds(10))
        var generator = SystemRandomNumberGenerator()
        var bounds: [Duration] = []
        for _ in 0..<8 {
            bounds.append(backoff.bound)
            let delay = backoff.next(using: &generator)
            #expect(delay >= .zero && delay <= bounds.last!)
        }
        #expect(bounds == [100, 200, 400, 800, 1600, 2000, 2000, 2000].map { .milliseconds($0) })
        backoff.connectionEnded(after: .seconds(3))
        #expect(backoff.bound == .seconds(2))  // not stable yet
        backoff.connectionEnded(after: .seconds(10))
        #expect(backoff.bound == .milliseconds(100))
    }

    @Test func fullJitterSpreadsOverTheWholeRange() {
        var generator = SplitMix(seed: 42)
        var delays: [Double] = []
        for _ in 0..<2000 {
            var backoff = Backoff(base: .seconds(1), cap: .seconds(8))
            for _ in 0..<3 { _ = backoff.next(using: &generator) }  // bound is now 8 s
            delays.append(backoff.next(using: &generator) / .seconds(1))
        }
        #expect(delays.allSatisfy { $0 >= 0 && $0 <= 8 })
        // Uniform over 0...8: mean near 4, every quarter of the range well used.
        let mean = delays.reduce(0, +) / Double(delays.count)
        #expect(abs(mean - 4) < 0.3)
        for quarter in 0..<4 {
            let share = Double(delays.filter { $0 >= Double(quarter) * 2 && $0 < Double(quarter + 1) * 2 }.count) / 2000
            #expect(share > 0.2 && share < 0.3, "quarter \(quarter): \(share)")
        }
    }
}
