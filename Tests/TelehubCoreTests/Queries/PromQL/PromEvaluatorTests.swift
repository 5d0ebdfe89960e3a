import Testing
import TelehubCore

/// Evaluation over series already read: lookback, windows, Prometheus's rate
/// extrapolation, aggregation, arithmetic, and buckets standing for values.
@Suite struct PromEvaluatorTests {
    let temperature = PromSelector(matchers: [PromMatcher(label: "__name__", kind: .equal, value: "temperature")])

    func series(_ device: String, _ points: [(Int64, Double)]) -> PromSeriesData {
        PromSeriesData(device: device, metric: "temperature", samples: points.map { PromSample(ts: $0.0, value: $0.1) })
    }

    func evaluate(_ query: String, steps: [Int64], _ data: [PromSeriesData]) throws -> PromValue {
        let expression = try PromParser.parse(query)
        var byRead: [PromSelector: [PromSeriesData]] = [:]
        for read in expression.reads { byRead[read.selector] = data }
        return PromEvaluator(steps: steps, data: byRead).evaluate(expression)
    }

    func values(_ value: PromValue) -> [[Double?]] {
        guard case .vector(let series) = value else { return [] }
        return series.map(\.values)
    }

    @Test func aSelectorTakesTheLastValueWithinFiveMinutes() throws {
        let data = [series("a", [(1000, 1), (2000, 2), (400_000, 3)])]
        let value = try evaluate("temperature", steps: [500, 1000, 1500, 301_999, 302_000, 400_000], data)
        #expect(values(value) == [[nil, 1, 1, 2, nil, 3]])
        guard case .vector(let result) = value else { return }
        #expect(result[0].labels == ["__name__": "temperature", "device": "a"])
    }

    @Test func windowsAreLeftOpenRightClosed() throws {
        let data = [series("a", [(0, 10), (60_000, 20), (120_000, 30)])]
        #expect(values(try evaluate("avg_over_time(temperature[1m])", steps: [60_000, 120_000], data)) == [[20, 30]])
        #expect(values(try evaluate("count_over_time(temperature[2m])", steps: [120_000], data)) == [[2]])
        #expect(values(try evaluate("sum_over_time(temperature[3m])", steps: [120_000], data)) == [[60]])
        #expect(values(try evaluate("min_over_time(temperature[3m])", steps: [120_000], data)) == [[10]])
        #expect(values(try evaluate("max_over_time(temperature[3m])", steps: [120_000], data)) == [[30]])
        #expect(values(try evaluate("last_over_time(temperature[3m])", steps: [119_999], data)) == [[20]])
    }

    /// Prometheus's own example numbers: a counter rising 1 a second, sampled
    /// every 15 s, reset once; rate over 1m is 1/s and increase 60.
    @Test func rateAndIncreaseExtrapolateAndSurviveResets() throws {
        let points: [(Int64, Double)] = [(15_000, 15), (30_000, 30), (45_000, 45), (60_000, 60), (75_000, 15), (90_000, 30)]
        let data = [series("a", points)]
        let rate = values(try evaluate("rate(temperature[1m])", steps: [60_000, 90_000], data))[0]
        #expect(abs(rate[0]! - 1) < 1e-9)
        #expect(abs(rate[1]! - 1) < 1e-9)
        let increase = values(try evaluate("increase(temperature[1m])", steps: [60_000], data))[0]
        #expect(abs(increase[0]! - 60) < 1e-9)
        let delta = values(try evaluate("delta(temperature[1m])", steps: [90_000], data))[0]
        #expect(abs(delta[0]! - (30 - 45) * 60.0 / 45) < 1e-9)
        #expect(values(try evaluate("rate(temperature[20s])", steps: [30_000], [series("a", [(30_000, 1)])])) == [])
    }

    @Test func aggregationsGroupByAndWithout() throws {
        let data = [series("a", [(0, 1)]), series("b", [(0, 3)]), series("c", [(0, 8)])]
        #expect(values(try evaluate("sum(temperature)", steps: [0], data)) == [[12]])
        #expect(values(try evaluate("avg(temperature)", steps: [0], data)) == [[4]])
        #expect(values(try evaluate("count(temperature)", steps: [0], data)) == [[3]])
        #expect(values(try evaluate("min(temperature)", steps: [0], data)) == [[1]])
        guard case .vector(let byDevice) = try evaluate("max by (device) (temperature)", steps: [0], data) else { return }
        #expect(byDevice.map(\.labels) == [["device": "a"], ["device": "b"], ["device": "c"]])
        guard case .vector(let without) = try evaluate("sum without (device) (temperature)", steps: [0], data) else { return }
        #expect(without.map(\.labels) == [[:]])
    }

    @Test func arithmeticOnNumbersAndSeries() throws {
        #expect(try evaluate("1+1", steps: [0, 1], []) == .scalar([2, 2]))
        #expect(try evaluate("7 % 4 - 2 ^ 3", steps: [0], []) == .scalar([-5]))
        let data = [series("a", [(0, 100)])]
        guard case .vector(let fahrenheit) = try evaluate("temperature * 1.8 + 32", steps: [0], data) else { return }
        #expect(fahrenheit == [PromSeriesResult(labels: ["device": "a"], values: [212])])
        #expect(values(try evaluate("-temperature", steps: [0], data)) == [[-100]])
        #expect(values(try evaluate("temperature / temperature", steps: [0], data)) == [[1]])
        #expect(values(try evaluate("1 / (temperature - 100)", steps: [0], data)) == [[.infinity]])
    }

    /// Rollup buckets stand for their values: the window's sum, count,
    /// minimum and maximum stay exact; the average is weighted by count.
    @Test func bucketsAggregateExactly() throws {
        let buckets = [
            PromSample(ts: 3_599_999, value: 2, sum: 20, min: 1, max: 5, count: 10),
            PromSample(ts: 7_199_999, value: 8, sum: 240, min: 0, max: 9, count: 30),
        ]
        let data = [PromSeriesData(device: "a", metric: "temperature", samples: buckets)]
        #expect(values(try evaluate("avg_over_time(temperature[2h])", steps: [7_200_000], data)) == [[260 / 40]])
        #expect(values(try evaluate("count_over_time(temperature[2h])", steps: [7_200_000], data)) == [[40]])
        #expect(values(try evaluate("min_over_time(temperature[1h])", steps: [3_600_000, 7_200_000], data)) == [[1, 0]])
        #expect(values(try evaluate("max_over_time(temperature[1h])", steps: [3_600_000, 7_200_000], data)) == [[5, 9]])
    }

    @Test func namesAreExposedWithUnderscoresAndValuesWrittenAsPrometheusDoes() {
        #expect(PromNames.exposed("env.room-1.temp") == "env_room_1_temp")
        #expect(PromTime.value(2) == "2")
        #expect(PromTime.value(21.5) == "21.5")
        #expect(PromTime.value(.nan) == "NaN")
        #expect(PromTime.value(-.infinity) == "-Inf")
        #expect(PromTime.seconds(1_700_000_000_500) == "1700000000.5")
        #expect(PromTime.seconds(1_700_000_000_000) == "1700000000")
    }

    @Test func timesAndDurationsOfTheAPI() {
        #expect(PromTime.time("1700000000.5") == 1_700_000_000_500)
        #expect(PromTime.time("2023-11-14T22:13:20Z") == 1_700_000_000_000)
        #expect(PromTime.time("2023-11-14T22:13:20.250+01:00") == 1_699_996_400_250)
        #expect(PromTime.time("yesterday") == nil)
        #expect(PromTime.duration("1h30m") == 5_400_000)
        #expect(PromTime.duration("15") == 15_000)
        #expect(PromTime.duration("250ms") == 250)
        #expect(PromTime.duration("1d") == 86_400_000)
        #expect(PromTime.duration("5x") == nil)
        #expect(PromTime.duration("99999999999999y") == nil)
    }
}
