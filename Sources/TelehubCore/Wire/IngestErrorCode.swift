/// The error codes of the wire contract. Only `rateLimited` and `overloaded`
/// are retryable: every other rejection means the message will never be stored.
public enum IngestErrorCode: String, Sendable, Codable, CaseIterable {
    case invalidJSON = "invalid_json"
    case invalidMessage = "invalid_message"
    case invalidName = "invalid_name"
    case invalidValue = "invalid_value"
    case invalidTimestamp = "invalid_timestamp"
    case batchTooLarge = "batch_too_large"
    /// The message would give the device more distinct metrics than `--max-series`.
    case tooManySeries = "too_many_series"
    case rateLimited = "rate_limited"
    case overloaded = "overloaded"

    public var isRetryable: Bool {
        self == .rateLimited || self == .overloaded
    }
}

/// Why a device message was refused, with the path of the offending field
/// (`readings[3].metrics.temperature`) so a device author can find it.
public struct IngestRejection: Error, Sendable, Equatable {
    public var code: IngestErrorCode
    public var message: String
    /// The message's `seq` when it could be read, so the device can match the error.
    public var seq: Int64?
    public var retryAfterMs: Int?

    public init(_ code: IngestErrorCode, _ message: String, seq: Int64? = nil, retryAfterMs: Int? = nil) {
        self.code = code
        self.message = message
        self.seq = seq
        self.retryAfterMs = retryAfterMs
    }
}
