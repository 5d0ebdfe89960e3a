public import TelehubCore

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
