import Foundation
import Testing
import TelehubCore

@Suite struct HistoryPlanTests {
    let hour: Int64 = 3_600_000
    let minute: Int64 = 60_000

    @Test func segmentsTileTheRangeWithoutGapsOrOverlap() {
        let from: Int64 = 10 * hour + 59 * minute + 30_000
        let to: Int64 = 13 * hour + 10_000
        let segments = TimeSegment.cover(from: from, to: to, upTo: .hour)
        #expect(segments == [
            TimeSegment(.raw, from: from, to: 11 * hour - 1),
            TimeSegment(.hour, from: 11 * hour, to: 13 * hour - 1),
            TimeSegment(.raw, from: 13 * hour, to: to),
        ])
        let ragged = TimeSegment.cover(from: 5 * hour + 90_500, to: 7 * hour + 3 * minute + 7, upTo: .hour)
        #expect(ragged.map(\.resolution) == [.raw, .minute, .hour, .minute, .raw])
        for (a, b) in zip(ragged, ragged.dropFirst()) { #expect(a.to + 1 == b.from) }
        #expect(ragged.first?.from == 5 * hour + 90_500)
        #expect(ragged.last?.to == 7 * hour + 3 * minute + 7)
    }

    @Test func shortRangesStayRaw() {
        #expect(TimeSegment.cover(from: 1000, to: 5000, upTo: .hour) == [TimeSegment(.raw, from: 1000, to: 5000)])
        #expect(TimeSegment.cover(from: 5, to: 4, upTo: .hour).isEmpty)
    }

    @Test func aMonthIn500BucketsUsesTheHourTier() {
        let to: Int64 = 1_732_200_000_000
        let plan = BucketPlan(from: to - 30 * 24 * hour, to: to, points: 500)
        #expect(plan.step == 2 * hour)
        #expect(plan.resolution == .hour)
        #expect(plan.origin % plan.step == 0)
        #expect(plan.origin <= to - 30 * 24 * hour)
        #expect(plan.bucket(of: to) < 500)
    }

    @Test(arguments: [
        (Int64(3_600_000), 500, Int64(8000), Resolution.raw),  // an hour: 7.2 s rounds to 8 s
        (Int64(86_400_000), 500, Int64(180_000), Resolution.minute),  // a day: 172.8 s → 3 min
        (Int64(7 * 86_400_000), 100, Int64(7_200_000), Resolution.hour),
        (Int64(1000), 10, Int64(100), Resolution.raw),
    ])
    func stepsAreNiceAndFit(span: Int64, points: Int, step: Int64, resolution: Resolution) {
        let from: Int64 = 1_732_000_000_000
        let plan = BucketPlan(from: from, to: from + span - 1, points: points)
        #expect(plan.step == step)
        #expect(plan.resolution == resolution)
        #expect(plan.bucket(of: from + span - 1) - plan.bucket(of: from) + 1 <= Int64(points))
    }

    @Test func onePointRange() {
        let plan = BucketPlan(from: 42, to: 42, points: 1)
        #expect(plan.bucket(of: 42) == 0)
        #expect(plan.start(ofBucket: 0) <= 42)
    }

    @Test func aggregatesMerge() {
        var a = Aggregate(value: 3)
        a.merge(Aggregate(sum: 10, min: -1, max: 8, count: 3))
        #expect(a == Aggregate(sum: 13, min: -1, max: 8, count: 4))
        #expect(a.average == 3.25)
    }
}
