import Testing
@testable import TelehubServer

@Suite struct OutgoingRepliesTests {
    /// Acks of one commit, queued back to back, leave one frame: the highest.
    @Test func anAckReplacesTheAckQueuedRightBeforeIt() {
        var replies = OutgoingReplies()
        for seq: Int64 in 1...3 {
            let removed = replies.removeAck(coveredBy: seq)
            #expect(removed == (seq == 1 ? nil : "ack \(seq - 1)"))
            replies.append("ack \(seq)")
            replies.lastIsAck(seq)
        }
        #expect(replies.texts == ["ack 3"])
    }

    /// An error between two acks is read where it happened, and so is the ack before it.
    @Test func aReplyInBetweenKeepsTheAckBeforeIt() {
        var replies = OutgoingReplies()
        replies.append("ack 1")
        replies.lastIsAck(1)
        replies.append("error 2")
        #expect(replies.removeAck(coveredBy: 3) == nil)
        replies.append("ack 3")
        replies.lastIsAck(3)
        #expect(replies.texts == ["ack 1", "error 2", "ack 3"])
    }

    /// An ack never replaces a higher one (a duplicate's ack may come late),
    /// nor one of the same `seq` (a duplicate is acknowledged again).
    @Test func aLowerOrEqualAckDoesNotReplaceTheOneBefore() {
        var replies = OutgoingReplies()
        replies.append("ack 7")
        replies.lastIsAck(7)
        #expect(replies.removeAck(coveredBy: 5) == nil)
        #expect(replies.removeAck(coveredBy: 7) == nil)
        #expect(replies.texts == ["ack 7"])
    }

    /// What was written is gone: the next ack starts a new frame.
    @Test func writtenRepliesAreNotReplaced() {
        var replies = OutgoingReplies()
        replies.append("ack 1")
        replies.lastIsAck(1)
        #expect(replies.removeAll() == ["ack 1"])
        #expect(replies.isEmpty)
        replies.append("pong")
        #expect(replies.removeAck(coveredBy: 2) == nil)
        #expect(replies.texts == ["pong"])
    }
}
