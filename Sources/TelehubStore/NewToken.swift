public import TelehubCore

/// A token to store: its kind, device and label, and the SHA-256 hash of a
/// secret the caller minted. The store never sees the secret itself.
public struct NewToken: Sendable, Equatable {
    public var kind: TokenKind
    /// The device a device token belongs to (created when needed); nil for other kinds.
    public var device: String?
    public var label: String?
    public var expiresAt: Int64?
    public var hash: [UInt8]

    /// - Throws: `StoreError.deviceRequired` for a device token without a device.
    public init(kind: TokenKind, device: String?, label: String?, expiresAt: Int64?, hash: [UInt8]) throws(StoreError) {
        if kind == .device, device == nil { throw StoreError.deviceRequired }
        self.kind = kind
        self.device = kind == .device ? device : nil
        self.label = label
        self.expiresAt = expiresAt
        self.hash = hash
    }

    /// The record of this token once stored under `id` at `now`.
    public func record(id: Int64, createdAt now: Int64) -> TokenRecord {
        TokenRecord(
            id: id, kind: kind, device: device, label: label, createdAt: now, lastUsedAt: nil, expiresAt: expiresAt,
            revoked: false)
    }
}
