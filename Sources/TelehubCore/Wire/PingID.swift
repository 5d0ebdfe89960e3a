/// A ping's `id`, echoed in the pong as it was sent: a string, a number or
/// null. Integers stay integers so that an id like 7 comes back as 7, not 7.0.
public enum PingID: Sendable, Equatable, Codable {
    case null
    case string(String)
    case integer(Int64)
    case number(Double)

    /// Decodes a string or a number; anything else is a `typeMismatch`.
    /// Pings are rare, so trying the kinds one after another costs nothing.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if let integer = try? container.decode(Int64.self) {
            self = .integer(integer)
        } else {
            // Booleans, arrays and objects fail here; Foundation reads `true` as no number.
            if (try? container.decode(Bool.self)) != nil {
                throw DecodingError.typeMismatch(
                    Double.self, .init(codingPath: decoder.codingPath, debugDescription: "a boolean"))
            }
            self = .number(try container.decode(Double.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .string(let text): try container.encode(text)
        case .integer(let integer): try container.encode(integer)
        case .number(let number): try container.encode(number)
        }
    }
}
