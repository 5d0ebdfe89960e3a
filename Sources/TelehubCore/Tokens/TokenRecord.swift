/// A stored token as the operator sees it: everything but the secret.
public struct TokenRecord: Sendable, Equatable, Codable {
    public var id: Int64
    public var kind: TokenKind
    /// The device a device token ingests for; nil for read tokens.
    public var device: String?
    public var label: String?
    public var createdAt: Int64
    public var lastUsedAt: Int64?
    public var expiresAt: Int64?
    public var revoked: Bool

    public init(
        id: Int64, kind: TokenKind, device: String?, label: String?, createdAt: Int64,
        lastUsedAt: Int64?, expiresAt: Int64?, revoked: Bool
    ) {
        self.id = id
        self.kind = kind
        self.device = device
        self.label = label
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
        self.expiresAt = expiresAt
        self.revoked = revoked
    }

    /// Usable now: neither revoked nor expired.
    public func isLive(at now: Int64) -> Bool {
        !revoked && (expiresAt.map { $0 > now } ?? true)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(kind, forKey: .kind)
        try container.encode(device, forKey: .device)
        try container.encode(label, forKey: .label)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(lastUsedAt, forKey: .lastUsedAt)
        try container.encode(expiresAt, forKey: .expiresAt)
        try container.encode(revoked, forKey: .revoked)
    }
}

/// A device as the operator sees it in `telehub device list`.
public struct DeviceRecord: Sendable, Equatable, Codable {
    public var id: Int64
    public var name: String
    public var createdAt: Int64
    public var lastSeen: Int64?
    public var lastSeq: Int64
    /// Live (unrevoked, unexpired) tokens of the device.
    public var tokens: Int

    public init(id: Int64, name: String, createdAt: Int64, lastSeen: Int64?, lastSeq: Int64, tokens: Int) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
        self.lastSeen = lastSeen
        self.lastSeq = lastSeq
        self.tokens = tokens
    }

    private enum CodingKeys: String, CodingKey {
        case name, createdAt, lastSeen, lastSeq, tokens
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.id = 0
        self.name = try container.decode(String.self, forKey: .name)
        self.createdAt = try container.decode(Int64.self, forKey: .createdAt)
        self.lastSeen = try container.decodeIfPresent(Int64.self, forKey: .lastSeen)
        self.lastSeq = try container.decode(Int64.self, forKey: .lastSeq)
        self.tokens = try container.decode(Int.self, forKey: .tokens)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(lastSeen, forKey: .lastSeen)
        try container.encode(lastSeq, forKey: .lastSeq)
        try container.encode(tokens, forKey: .tokens)
    }
}

/// Who a presented token belongs to, once verified.
public struct TokenIdentity: Sendable, Equatable {
    public var tokenID: Int64
    public var kind: TokenKind
    public var deviceID: Int64?
    public var deviceName: String?
    /// When the token expires (epoch ms), nil for never: a dashboard session
    /// made from it ends no later.
    public var expiresAt: Int64?

    public init(tokenID: Int64, kind: TokenKind, deviceID: Int64?, deviceName: String?, expiresAt: Int64? = nil) {
        self.tokenID = tokenID
        self.kind = kind
        self.deviceID = deviceID
        self.deviceName = deviceName
        self.expiresAt = expiresAt
    }
}
