/// The random id a dashboard session cookie holds (`ths_…`, 256 bits). Only
/// its hash is stored, like a token's.
public struct SessionSecret: Sendable, Equatable {
    public static let prefix = "ths_"
    public let value: String

    public static func generate() -> SessionSecret {
        SessionSecret(value: prefix + Base64URL.encode(Crypto.randomBytes(32)))
    }

    public var hash: [UInt8] { Crypto.sha256(value.utf8) }

    /// The value a page must send in `X-Telehub-CSRF` with every change it
    /// makes through this session: derived from the cookie (which page
    /// scripts cannot read, being HttpOnly) and handed out only by
    /// `GET /v1/session`, which another site cannot read. Nil when `value`
    /// cannot be a session id.
    public static func csrf(_ value: String) -> String? {
        guard value.hasPrefix(prefix), value.utf8.count <= 64 else { return nil }
        return "thx_" + Base64URL.encode(Crypto.sha256(Array("telehub-csrf:".utf8) + Array(value.utf8)))
    }

    /// The stored form of a presented cookie value, or nil when it cannot be a session id.
    public static func hash(_ value: String) -> [UInt8]? {
        guard value.hasPrefix(prefix), value.utf8.count <= 64 else { return nil }
        return Crypto.sha256(value.utf8)
    }
}
