import Testing
@testable import TelehubServer

@Suite struct ReplyBudgetTests {
    @Test func boundsTheCountAndTheBytesOfRepliesNotYetWritten() {
        let budget = ReplyBudget(maxCount: 2, maxBytes: 100)
        #expect(budget.take(40))
        #expect(budget.take(70) == false)  // 110 bytes would pass the budget
        #expect(budget.take(60))
        #expect(budget.take(0) == false)  // two replies queued already
        budget.release(count: 1, bytes: 40)
        #expect(budget.take(40))
    }

    @Test func oneReplyAloneFitsWhateverItsSize() {
        // An error may quote a whole message of maxMessageBytes.
        let budget = ReplyBudget(maxCount: 10, maxBytes: 100)
        #expect(budget.take(150))
        #expect(budget.take(1) == false)  // nothing more while it waits
        budget.release(count: 1, bytes: 150)
        #expect(budget.take(1))
    }

    @Test func aConnectionIsCutOffOnceAndTakesNothingAfter() {
        let budget = ReplyBudget(maxCount: 10, maxBytes: 1000)
        #expect(budget.markCutOff())
        #expect(budget.markCutOff() == false)
        #expect(budget.take(1) == false)
    }

    @Test func onlyEventsThatCarryAReplyTakeTheBudget() {
        let budget = ReplyBudget(maxCount: 1, maxBytes: 1000)
        #expect(ReplyBudget.admit(.reply("{}"), into: budget))
        #expect(ReplyBudget.admit(.reply("{}"), into: budget) == false)
        #expect(ReplyBudget.admit(.completed(nil), into: budget))
    }
}
