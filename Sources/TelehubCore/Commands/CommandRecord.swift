/// One command as the API answers it and the stores keep it.
public struct CommandRecord: Sendable, Equatable, Codable {
    public var id: String
    public var device: String
    public var name: String
    public var args: JSONValue
    public var status: CommandStatus
    public var priority: Int
    public var createdAt: Int64
    public var expiresAt: Int64
    /// How many times it was written to a connection.
    public var attempts: Int
    public var deliveredAt: Int64?
    public var completedAt: Int64?
    public var result: JSONValue?
    public var message: String?

    public init(
        id: String, device: String, name: String, args: JSONValue, status: CommandStatus, priority: Int, createdAt: Int64,
        expiresAt: Int64, attempts: Int = 0, deliveredAt: Int64? = nil, completedAt: Int64? = nil, result: JSONValue? = nil,
        message: String? = nil
    ) {
        self.id = id
        self.device = device
        self.name = name
        self.args = args
        self.status = status
        self.priority = priority
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.attempts = attempts
        self.deliveredAt = deliveredAt
        self.completedAt = completedAt
        self.result = result
        self.message = message
    }

    /// The contract writes every field, `null` included.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(device, forKey: .device)
        try container.encode(name, forKey: .name)
        try container.encode(args, forKey: .args)
        try container.encode(status, forKey: .status)
        try container.encode(priority, forKey: .priority)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(attempts, forKey: .attempts)
        try container.encode(deliveredAt, forKey: .deliveredAt)
        try container.encode(completedAt, forKey: .completedAt)
        try container.encode(result, forKey: .result)
        try container.encode(message, forKey: .message)
    }

    /// A new command's id: `cmd_` and 128 random bits, hex.
    public static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        let high = generator.next() as UInt64
        let low = generator.next() as UInt64
        return "cmd_" + hex(high) + hex(low)
    }

    private static func hex(_ value: UInt64) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }
}
