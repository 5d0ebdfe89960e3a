import NIOCore
import NIOWebSocket
import Synchronization

/// The replies (pongs, acks, errors) queued for one device and not yet
/// written to its socket. A device that sends but never reads would make
/// them pile up without end; past `maxCount` or `maxBytes` it is cut off.
final class ReplyBudget: Sendable {
    let maxCount: Int
    let maxBytes: Int
    private let state = Mutex(State())

    private struct State {
        var count = 0
        var bytes = 0
        var cutOff = false
    }

    init(maxCount: Int, maxBytes: Int) {
        self.maxCount = max(1, maxCount)
        self.maxBytes = max(1, maxBytes)
    }

    /// Counts a reply about to be queued. - Returns: false when it would pass the budget.
    func take(_ bytes: Int) -> Bool {
        state.withLock { state in
            guard !state.cutOff, state.count < maxCount, state.bytes + bytes <= maxBytes else { return false }
            state.count += 1
            state.bytes += bytes
            return true
        }
    }

    /// A reply was written to the socket.
    func release(_ bytes: Int) {
        state.withLock { state in
            state.count -= 1
            state.bytes -= bytes
        }
    }

    /// - Returns: true the first time only, so the connection is cut off once.
    func markCutOff() -> Bool {
        state.withLock { state in
            defer { state.cutOff = true }
            return !state.cutOff
        }
    }

    /// Takes the budget for an event that carries a reply; other events pass.
    static func admit(_ event: IngestSocket.Event, into budget: ReplyBudget) -> Bool {
        switch event {
        case .reply(let text), .completed(let text?): budget.take(text.utf8.count)
        default: true
        }
    }
}

/// Closes the connection of a device that does not read its replies.
///
/// The connection's writer may be stuck in a write to the full socket, so the
/// close frame (1008) is written on the channel directly, and the channel is
/// closed once it is flushed or after `limit` at the latest.
enum UnreadRepliesCutOff {
    static func close(_ channel: any Channel, within limit: Duration) {
        let reason = "replies not read"
        var data = channel.allocator.buffer(capacity: 2 + reason.utf8.count)
        data.write(webSocketErrorCode: .policyViolation)
        data.writeString(reason)
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: data)
        channel.writeAndFlush(frame).whenComplete { _ in channel.close(promise: nil) }
        channel.eventLoop.scheduleTask(in: .nanoseconds(Int64(limit.milliseconds) * 1_000_000)) {
            channel.close(promise: nil)
        }
    }
}
