public import Foundation

/// What the hub sends a device, as the contract spells it: written by the hub,
/// read by the device SDK, through the same `Codable` conformance.
public enum ServerMessage: Sendable, Equatable, Codable {
    case hello(Hello)
    case ack(seq: Int64)
    case error(ErrorBody)
    case pong(id: PingID?)
    /// A command for the device to carry out once (contract v1.2).
    case command(CommandMessage)
    /// The device's whole desired state, after `hello` and at every change.
    case desired(DesiredMessage)

    public struct Hello: Sendable, Equatable, Codable {
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

    private enum Kind: String, Codable {
        case hello, ack, error, pong, command, desired
    }

    private enum CodingKeys: String, CodingKey {
        case type, seq, id
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        switch try container.decode(Kind.self, forKey: .type) {
        case .hello: self = .hello(try Hello(from: decoder))
        case .ack: self = .ack(seq: try container.decode(Int64.self, forKey: .seq))
        case .error: self = .error(try ErrorBody(from: decoder))
        case .pong: self = .pong(id: try container.decodeIfPresent(PingID.self, forKey: .id))
        case .command: self = .command(try CommandMessage(from: decoder))
        case .desired: self = .desired(try DesiredMessage(from: decoder))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .hello(let hello):
            try hello.encode(to: encoder)
        case .ack(let seq):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(Kind.ack, forKey: .type)
            try container.encode(seq, forKey: .seq)
        case .error(let body):
            try body.encode(to: encoder)
        case .pong(let id):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(Kind.pong, forKey: .type)
            try container.encodeIfPresent(id, forKey: .id)
        case .command(let command):
            try command.encode(to: encoder)
        case .desired(let desired):
            try desired.encode(to: encoder)
        }
    }

    /// One encoder for every reply (JSONEncoder is Sendable and keeps no state
    /// between calls): an ack goes out per message, so none is built per ack.
    private static let encoder = JSONEncoder.wire

    /// The JSON text of the message.
    public var json: String {
        // One ack per message: written by hand, as the encoder writes it (sorted
        // keys; a test keeps them equal), since the encoder cost 4% of ingest CPU.
        if case .ack(let seq) = self { return #"{"seq":\#(seq),"type":"ack"}"# }
        // Encoding these plain values cannot fail.
        return String(decoding: (try? Self.encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    /// Reads one message of the hub; nil for text that is none.
    public init?(json: some StringProtocol) {
        guard let message = try? JSONDecoder().decode(Self.self, from: Data(json.utf8)) else { return nil }
        self = message
    }
}

/// The error object of the contract, shared by WebSocket replies and HTTP 400 bodies.
public struct ErrorBody: Codable, Sendable, Equatable {
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

    /// `value` in the wire encoding, as text; `{}` for a value that cannot
    /// be encoded (the contract's types always can).
    public static func wireText(_ value: some Encodable) -> String {
        (try? wire.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}
