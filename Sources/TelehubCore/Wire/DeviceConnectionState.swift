/// The protocol logic of one device connection, without sockets: what to do
/// with each incoming text message. The server feeds it frames and carries
/// out the actions; tests drive it directly.
public struct DeviceConnectionState: Sendable {
    public enum Action: Sendable, Equatable {
        /// Send this reply now (a pong, or an error for a rejected message).
        case reply(ServerMessage)
        /// Hand the message to the ingest actor; its ack follows the commit.
        case submit(IngestMessage)
        /// Too many rejected messages in the window: close with 1008.
        case closeForErrors
    }

    public let device: String
    private let validator: MessageValidator
    private let errorLimit: ErrorWindow

    public init(device: String, limits: IngestLimits, errorLimit: ErrorWindow = .init()) {
        self.device = device
        self.validator = MessageValidator(limits: limits, requiresSeq: true)
        self.errorLimit = errorLimit
    }

    /// Rejections in the current window, and when that window opened.
    private var errorsInWindow = 0
    private var windowStart: Int64 = 0

    public mutating func receive(_ text: String, now: Int64) -> [Action] {
        switch validator.validate(text, now: now) {
        case .success(.ping(let id)):
            return [.reply(.pong(id: id))]
        case .success(.ingest(let message)):
            return [.submit(message)]
        case .failure(let rejection):
            return reject(rejection, now: now)
        }
    }

    /// Records a rejection made here or later (by the ingest path) and says
    /// whether the connection has now used up its error budget.
    public mutating func reject(_ rejection: IngestRejection, now: Int64) -> [Action] {
        if now - windowStart > errorLimit.windowMs {
            windowStart = now
            errorsInWindow = 0
        }
        errorsInWindow += 1
        let reply = Action.reply(.error(ErrorBody(rejection)))
        return errorsInWindow > errorLimit.maxErrors ? [reply, .closeForErrors] : [reply]
    }
}

/// How many rejected messages a connection may send in a window before it is
/// closed with 1008: a buggy firmware loop must not cost the hub for long.
public struct ErrorWindow: Sendable, Equatable {
    public var maxErrors: Int
    public var windowMs: Int64

    public init(maxErrors: Int = 100, windowMs: Int64 = 10_000) {
        self.maxErrors = maxErrors
        self.windowMs = windowMs
    }
}
