import Testing
import TelehubCore

@Suite struct WakeTests {
    /// A deadline no signal should need: a wait that ends well before it
    /// ended by its signal (or cancellation), even on a loaded machine or
    /// under ThreadSanitizer, where a task may wait seconds for a thread.
    static let far = Duration.seconds(120)

    @Test func aSignalBeforeTheWaitIsKept() async {
        let wake = Wake()
        wake.signal()
        let started = ContinuousClock.now
        await wake.wait(until: .now + Self.far)
        #expect(ContinuousClock.now - started < Self.far / 2)
    }

    @Test func clearForgetsASignalNobodyWaitedFor() async {
        let wake = Wake()
        wake.signal()
        wake.clear()
        let started = ContinuousClock.now
        await wake.wait(until: .now + .milliseconds(200))
        #expect(ContinuousClock.now - started >= .milliseconds(190))
    }

    @Test func aWaitEndsAtItsDeadlineEvenOneAlreadyPast() async {
        let wake = Wake()
        let started = ContinuousClock.now
        await wake.wait(until: .now + .milliseconds(100))
        #expect(ContinuousClock.now - started >= .milliseconds(90))
        await wake.wait(until: .now - .seconds(1))  // must not hang
    }

    @Test func aSignalWakesEveryWaiter() async {
        let wake = Wake()
        let started = ContinuousClock.now
        let woken = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    await wake.wait(until: .now + Self.far)
                    return true
                }
            }
            // Signals until cancelled: a signal may come before some waiter is waiting.
            group.addTask {
                while !Task.isCancelled {
                    wake.signal()
                    try? await Task.sleep(for: .milliseconds(5))
                }
                return false
            }
            var count = 0
            for await woke in group where woke {
                count += 1
                if count == 5 { group.cancelAll() }
            }
            return count
        }
        #expect(woken == 5 && ContinuousClock.now - started < Self.far / 2)
    }

    @Test func cancellingTheWaiterEndsTheWait() async {
        let wake = Wake()
        let task = Task { await wake.wait(until: .now + Self.far) }
        try? await Task.sleep(for: .milliseconds(20))
        task.cancel()
        let started = ContinuousClock.now
        await task.value
        #expect(ContinuousClock.now - started < Self.far / 2)
    }

    @Test func firstOfGivesTheValueOrNilAtTheDeadline() async {
        #expect(await firstOf({ 42 }, orDeadline: .now + Self.far) == 42)
        let slow = await firstOf({
            try? await Task.sleep(for: .seconds(30))
            return 1
        }, orDeadline: .now + .milliseconds(50))
        #expect(slow == nil)
    }
}
