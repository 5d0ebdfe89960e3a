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
            // One reply alone always fits (an error may quote a message of up
            // to maxMessageBytes): the budget bounds replies piling up.
            guard !state.cutOff, state.count < maxCount, state.count == 0 || state.bytes + bytes <= maxBytes else { return false }
            state.count += 1
            state.bytes += bytes
            return true
        }
    }

    /// Replies were written to the socket.
    func release(count: Int, bytes: Int) {
        state.withLock { state in
            state.count -= count
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
    static func admit(_ event: DeviceSocketState.Event, into budget: ReplyBudget) -> Bool {
        switch event {
        case .reply(let text), .completed(let text?): budget.take(text.utf8.count)
        default: true
        }
    }
}
