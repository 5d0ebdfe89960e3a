/// The replies a device connection has queued and not yet written, in order.
///
/// Acks are cumulative (an ack covers every message of the device at or
/// below its `seq`), so an ack queued right behind an earlier ack takes its
/// place: the messages of one connection that went into one commit are
/// answered with one frame, not one each. Only an ack that is the last reply
/// queued is replaced; an error, a pong or a command in between keeps the ack
/// before it, so what the device reads stays in the order it happened. An
/// ack of the same `seq` again (a duplicate, acknowledged again) is kept:
/// it answers a message of its own.
struct OutgoingReplies {
    private(set) var texts: [String] = []
    /// The `seq` of the last reply, when it is an ack that a later one may replace.
    private var trailingAck: Int64?

    var isEmpty: Bool { texts.isEmpty }
    var count: Int { texts.count }

    mutating func append(_ text: String) {
        texts.append(text)
        trailingAck = nil
    }

    /// Removes the last reply when it is an ack below `seq`, which an ack of
    /// `seq` covers. - Returns: the reply removed, whose budget the caller
    /// gives back.
    mutating func removeAck(coveredBy seq: Int64) -> String? {
        guard let previous = trailingAck, previous < seq, let last = texts.popLast() else { return nil }
        trailingAck = nil
        return last
    }

    /// The reply just appended is the ack of `seq`.
    mutating func lastIsAck(_ seq: Int64) {
        if !texts.isEmpty { trailingAck = seq }
    }

    mutating func removeAll() -> [String] {
        defer {
            texts = []
            trailingAck = nil
        }
        return texts
    }
}
