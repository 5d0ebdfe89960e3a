import Testing
import TelehubCore

@Suite struct AlertEvaluationTests {
    /// Runs readings `(ts, value)` through the machine; returns every transition.
    private func run(_ threshold: Threshold, _ readings: [(Int64, Double)], from start: AlertSeriesState = .init())
        -> (AlertSeriesState, [(Int64, AlertTransition.State)])
    {
        var state = start
        var transitions: [(Int64, AlertTransition.State)] = []
        for (ts, value) in readings {
            let (next, transition) = AlertEvaluation.reading(threshold, state, ts: ts, value: value)
            state = next
            if let transition { transitions.append((ts, transition)) }
        }
        return (state, transitions)
    }

    @Test func withoutForFiresOnTheFirstReadingBeyondTheLimitAndClearsAtIt() {
        let rule = Threshold(direction: .above, limit: 8)
        let (state, transitions) = run(rule, [(1, 7.9), (2, 8), (3, 8.4), (4, 9), (5, 8)])
        #expect(transitions.map(\.0) == [3, 5])
        #expect(transitions.map(\.1) == [.firing, .resolved])
        #expect(state == AlertSeriesState(phase: .ok, since: 5, value: 8))
    }

    @Test func forWaitsForTheConditionToHoldThatLongByReadingTime() {
        let rule = Threshold(direction: .above, limit: 8, forMs: 60_000)
        let (pending, none) = run(rule, [(0, 9), (30_000, 9.5), (59_999, 9)])
        #expect(none.isEmpty)
        #expect(pending.phase == .pending && pending.since == 0)
        let (firing, fired) = run(rule, [(60_000, 8.5)], from: pending)
        #expect(fired.map(\.1) == [.firing])
        #expect(firing == AlertSeriesState(phase: .firing, since: 60_000, value: 8.5))
    }

    @Test func aShortSpikeNeverFires() {
        let rule = Threshold(direction: .above, limit: 8, forMs: 60_000)
        let (state, transitions) = run(rule, [(0, 12), (10_000, 12), (20_000, 7), (70_000, 12), (100_000, 12)])
        #expect(transitions.isEmpty)
        #expect(state.phase == .pending && state.since == 70_000)  // the run started over at the second spike
    }

    @Test func hysteresisHoldsTheAlertBetweenTheLimits() {
        let rule = Threshold(direction: .above, limit: 8, clearAt: 7.5)
        let (state, transitions) = run(rule, [(1, 8.2), (2, 7.9), (3, 7.6), (4, 8.1), (5, 7.4), (6, 7.9)])
        #expect(transitions.map(\.0) == [1, 5])  // 7.9 and 7.6 are below 8 but not below 7.5
        #expect(state.phase == .ok)
    }

    @Test func belowMirrorsAbove() {
        let rule = Threshold(direction: .below, limit: 2, forMs: 10, clearAt: 3)
        let (state, transitions) = run(rule, [(0, 1.5), (5, 1.9), (10, 1), (20, 2.5), (30, 3.5)])
        #expect(transitions.map(\.0) == [10, 30])
        #expect(transitions.map(\.1) == [.firing, .resolved])
        #expect(state.phase == .ok)
    }

    @Test func anOlderReadingDoesNotShortenFor() {
        let rule = Threshold(direction: .above, limit: 0, forMs: 100)
        let (state, transitions) = run(rule, [(1000, 1), (500, 1)])
        #expect(transitions.isEmpty)
        #expect(state.phase == .pending)
    }

    @Test func thresholdsThatContradictThemselvesAreRefused() {
        #expect(Threshold(direction: .above, limit: 8, clearAt: 9).problem != nil)
        #expect(Threshold(direction: .below, limit: 8, clearAt: 7).problem != nil)
        #expect(Threshold(direction: .above, limit: .nan).problem != nil)
        #expect(Threshold(direction: .above, limit: 8, clearAt: .infinity).problem != nil)
        #expect(Threshold(direction: .above, limit: 8, clearAt: 8).problem == nil)
    }

    @Test func silenceFiresAtTheLimitAndResolvesWhenTheDeviceSends() {
        var state = AlertSeriesState()
        var (next, transition) = AlertEvaluation.silence(afterMs: 120_000, state, lastSeen: 1_000, now: 100_000)
        #expect(transition == nil)
        #expect(AlertEvaluation.nextSilenceCheck(afterMs: 120_000, next, lastSeen: 1_000) == 121_000)
        (next, transition) = AlertEvaluation.silence(afterMs: 120_000, next, lastSeen: 1_000, now: 121_400)
        #expect(transition == .firing)
        #expect(next.since == 121_000)  // when the silence reached the limit
        state = next
        (next, transition) = AlertEvaluation.silence(afterMs: 120_000, state, lastSeen: 1_000, now: 500_000)
        #expect(transition == nil)  // fires once
        #expect(AlertEvaluation.nextSilenceCheck(afterMs: 120_000, next, lastSeen: 1_000) == nil)
        (next, transition) = AlertEvaluation.silence(afterMs: 120_000, next, lastSeen: 499_000, now: 500_000)
        #expect(transition == .resolved)
        #expect(next.phase == .ok)
    }

    @Test func aDeviceThatNeverSentIsNotOffline() {
        let (state, transition) = AlertEvaluation.silence(afterMs: 1000, AlertSeriesState(), lastSeen: 0, now: 1_000_000)
        #expect(transition == nil && state.phase == .ok)
    }

    @Test func conditionTextReadsAsWritten() {
        #expect(AlertCondition.threshold(Threshold(direction: .above, limit: 8, forMs: 60_000, clearAt: 7.5)).text
            == "above 8 for 1m, clears below 7.5")
        #expect(AlertCondition.threshold(Threshold(direction: .below, limit: -2.25)).text == "below -2.25")
        #expect(AlertCondition.offline(afterMs: 120_000).text == "offline for 2m")
    }

    @Test func ruleBounds() {
        let good = AlertRule(id: 0, name: "cold-room-warm", device: "cold-room", metric: "temperature",
                             condition: .threshold(Threshold(direction: .above, limit: 8)), webhook: "https://example.org/hook", secret: "s")
        #expect(AlertRuleBounds.problem(with: good) == nil)
        var bad = good
        bad.name = String(repeating: "x", count: 65)
        #expect(AlertRuleBounds.problem(with: bad) != nil)
        bad = good; bad.name = "tab\there"
        #expect(AlertRuleBounds.problem(with: bad) != nil)
        bad = good; bad.webhook = "ftp://example.org"
        #expect(AlertRuleBounds.problem(with: bad) != nil)
        bad = good; bad.webhook = nil
        #expect(AlertRuleBounds.problem(with: bad) != nil)  // a secret without a webhook
        bad = good; bad.metric = nil
        #expect(AlertRuleBounds.problem(with: bad) != nil)
        bad = good; bad.condition = .offline(afterMs: 8 * 86_400_000); bad.metric = nil
        #expect(AlertRuleBounds.problem(with: bad) != nil)
        var every = good
        every.device = nil; every.condition = .offline(afterMs: 120_000); every.metric = nil
        #expect(AlertRuleBounds.problem(with: every) == nil)
    }
}
