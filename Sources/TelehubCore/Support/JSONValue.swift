import Foundation

/// Any JSON value, for what the hub keeps without knowing its shape: a
/// command's arguments and result, a device's desired and reported state.
/// Objects keep their keys sorted when encoded, so equal values are equal text.
public enum JSONValue: Sendable, Equatable, Hashable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// How deeply arrays and objects nest: 0 for a scalar, 1 for `{}` or `[1]`.
    public var depth: Int {
        switch self {
        case .array(let items): 1 + (items.map(\.depth).max() ?? 0)
        case .object(let members): 1 + (members.values.map(\.depth).max() ?? 0)
        default: 0
        }
    }

    public var object: [String: JSONValue]? {
        if case .object(let members) = self { return members }
        return nil
    }

    /// A member of an object; nil for a missing key or a value that is no object.
    public subscript(key: String) -> JSONValue? {
        object?[key]
    }

    public var number: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    /// The compact JSON text, keys sorted.
    public var text: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }

    /// Parses JSON text. - Throws: `DecodingError` when it is not JSON.
    public static func parse(_ text: some StringProtocol) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    /// RFC 7396: `patch` merged over `self`. An object patch sets each of its
    /// members (recursively), `null` deleting one; any other patch replaces
    /// the whole value.
    public func merging(_ patch: JSONValue) -> JSONValue {
        guard case .object(let changes) = patch else { return patch }
        var members = object ?? [:]
        for (key, change) in changes {
            if change == .null {
                members[key] = nil
            } else {
                members[key] = (members[key] ?? .null).merging(change)
            }
        }
        return .object(members)
    }

    /// The members of `self` (desired) whose value differs from `other`'s
    /// (reported), recursively for objects on both sides; nil when none do.
    public func delta(from other: JSONValue) -> JSONValue? {
        guard case .object(let wanted) = self else { return self == other ? nil : self }
        let have = other.object ?? [:]
        var differing: [String: JSONValue] = [:]
        for (key, value) in wanted {
            guard let current = have[key] else {
                differing[key] = value
                continue
            }
            if case .object = value, case .object = current {
                if let inner = value.delta(from: current) { differing[key] = inner }
            } else if value != current {
                differing[key] = value
            }
        }
        return differing.isEmpty ? nil : .object(differing)
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}
