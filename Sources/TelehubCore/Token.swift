/// What a token may do: ingest for one device, or read everything.
public enum TokenKind: String, Sendable, Codable, CaseIterable {
    case device
    case read

    /// The readable prefix that tells a token's kind at a glance.
    public var prefix: String {
        switch self {
        case .device: "thd_"
        case .read: "thr_"
        }
    }

    public init?(token: String) {
        guard let kind = Self.allCases.first(where: { token.hasPrefix($0.prefix) }) else { return nil }
        self = kind
    }
}

/// A freshly made token secret. It is shown once; only `hash` is stored.
public struct TokenSecret: Sendable, Equatable {
    public let kind: TokenKind
    public let value: String

    /// 32 bytes (256 bits) from the CSPRNG, base64url without padding.
    public static func generate(_ kind: TokenKind) -> TokenSecret {
        TokenSecret(kind: kind, value: kind.prefix + Base64URL.encode(Crypto.randomBytes(32)))
    }

    public var hash: [UInt8] { Self.hash(value) }

    /// The stored form of a token: its SHA-256 digest.
    public static func hash(_ token: String) -> [UInt8] {
        Crypto.sha256(token.utf8)
    }
}

enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8]) -> String {
        var output = [UInt8]()
        output.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var bits = UInt32(0)
            for (offset, byte) in chunk.enumerated() { bits |= UInt32(byte) << (16 - 8 * offset) }
            for position in 0...chunk.count { output.append(alphabet[Int((bits >> (18 - 6 * position)) & 0x3F)]) }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }
}

/// The random id a dashboard session cookie holds (`ths_…`, 256 bits). Only
/// its hash is stored, like a token's.
public struct SessionSecret: Sendable, Equatable {
    public static let prefix = "ths_"
    public let value: String

    public static func generate() -> SessionSecret {
        SessionSecret(value: prefix + Base64URL.encode(Crypto.randomBytes(32)))
    }

    public var hash: [UInt8] { Crypto.sha256(value.utf8) }

    /// The stored form of a presented cookie value, or nil when it cannot be a session id.
    public static func hash(_ value: String) -> [UInt8]? {
        guard value.hasPrefix(prefix), value.utf8.count <= 64 else { return nil }
        return Crypto.sha256(value.utf8)
    }
}
