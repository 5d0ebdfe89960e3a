/// `POST /v1/devices/{name}/commands`'s body, checked against the
/// contract's bounds with a message that names the field.
public struct CommandRequest: Sendable, Equatable {
    public var name: String
    public var args: JSONValue
    public var ttlMs: Int64
    public var priority: Int

    public static let maxArgsBytes = 8 * 1024
    public static let maxDepth = 8
    public static let ttlRange: ClosedRange<Int64> = 1000...(30 * 86_400_000)
    public static let defaultTTLMs: Int64 = 86_400_000
    public static let priorityRange = 0...9
    public static let defaultPriority = 5

    public init(name: String, args: JSONValue = .object([:]), ttlMs: Int64 = defaultTTLMs, priority: Int = defaultPriority) {
        self.name = name
        self.args = args
        self.ttlMs = ttlMs
        self.priority = priority
    }

    /// Reads and checks a request body. - Throws: `CommandRequestError` naming the field.
    public static func parse(_ body: JSONValue) throws(CommandRequestError) -> CommandRequest {
        guard let fields = body.object else { throw .invalid("the body must be a JSON object") }
        guard case .string(let name)? = fields["name"] else { throw .invalid("name: required, a string") }
        guard NameRules.isValidMetricName(name) else {
            throw .invalid("name: 1 to 64 of letters, digits, '_', '.', '-', starting with a letter or '_'")
        }
        var request = CommandRequest(name: name)
        if let args = fields["args"], args != .null {
            guard case .object = args else { throw .invalid("args: a JSON object") }
            try checkSize(args, field: "args", maxBytes: maxArgsBytes)
            request.args = args
        }
        if let ttl = fields["ttl"], ttl != .null {
            guard case .number(let value) = ttl, value.rounded() == value, ttlRange.contains(Int64(exactly: value) ?? -1) else {
                throw .invalid("ttl: whole milliseconds from 1000 to 2592000000 (30 days)")
            }
            request.ttlMs = Int64(value)
        }
        if let priority = fields["priority"], priority != .null {
            guard case .number(let value) = priority, let whole = Int(exactly: value), priorityRange.contains(whole) else {
                throw .invalid("priority: a whole number from 0 to 9")
            }
            request.priority = whole
        }
        return request
    }

    /// A JSON object's bounds: `maxBytes` of compact text, depth 8.
    public static func checkSize(_ value: JSONValue, field: String, maxBytes: Int) throws(CommandRequestError) {
        guard value.depth <= maxDepth else { throw .invalid("\(field): nested deeper than \(maxDepth) levels") }
        let bytes = value.text.utf8.count
        guard bytes <= maxBytes else { throw .invalid("\(field): \(bytes) bytes; at most \(maxBytes)") }
    }
}

public enum CommandRequestError: Error, Equatable, Sendable {
    case invalid(String)

    public var message: String {
        switch self {
        case .invalid(let message): message
        }
    }
}
