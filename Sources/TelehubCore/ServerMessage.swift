import Foundation

/// What the hub sends a device, encoded exactly as the contract spells it.
public enum ServerMessage: Sendable, Equatable {
    case hello(Hello)
    case ack(seq: Int64)
    case error(IngestRejection)
    case pong(id: JSONValue?)

    public struct Hello: Sendable, Equatable, Encodable {
        public var type = "hello"
        public var device: String
        /// The highest `seq` of this device that is durably stored; 0 if none.
        public var lastSeq: Int64
        public var maxBatch: Int
        public var maxMessageBytes: Int
        public var heartbeatSeconds: Int

        public init(device: String, lastSeq: Int64, limits: IngestLimits, heartbeatSeconds: Int) {
            self.device = device
            self.lastSeq = lastSeq
            self.maxBatch = limits.maxBatch
            self.maxMessageBytes = limits.maxMessageBytes
            self.heartbeatSeconds = heartbeatSeconds
        }
    }

    /// The JSON text of the message.
    public var json: String {
        let data: Data
        switch self {
        case .hello(let hello): data = Self.encode(hello)
        case .ack(let seq): data = Self.encode(Ack(seq: seq))
        case .error(let rejection): data = Self.encode(ErrorBody(rejection))
        case .pong(let id): data = Self.encode(Pong(id: id))
        }
        return String(decoding: data, as: UTF8.self)
    }

    private static func encode(_ value: some Encodable) -> Data {
        // Encoding these plain structs cannot fail.
        (try? JSONEncoder.wire.encode(value)) ?? Data("{}".utf8)
    }

    private struct Ack: Encodable {
        var type = "ack"
        var seq: Int64
    }

    private struct Pong: Encodable {
        var type = "pong"
        var id: JSONValue?
    }
}

/// The error object of the contract, shared by WebSocket replies and HTTP 400 bodies.
public struct ErrorBody: Encodable, Sendable {
    public var type = "error"
    public var seq: Int64?
    public var code: String
    public var message: String
    public var retryable: Bool
    public var retryAfterMs: Int?

    public init(_ rejection: IngestRejection) {
        self.seq = rejection.seq
        self.code = rejection.code.rawValue
        self.message = rejection.message
        self.retryable = rejection.code.isRetryable
        self.retryAfterMs = rejection.retryAfterMs
    }
}

extension JSONEncoder {
    /// Sorted keys keep the wire output stable for logs and tests.
    public static var wire: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
