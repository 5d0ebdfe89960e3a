/// The bodies of the read API's small answers, as the contract writes them.
/// The device list and device status are `DeviceList` and `DeviceStatus`.

/// `GET /healthz`: `{"status":"ok"}`, or 503 `{"status":"unavailable","reason":…}`.
public struct HealthAnswer: Sendable, Equatable, Codable {
    public var status: String
    public var reason: String?

    public static let ok = HealthAnswer(status: "ok", reason: nil)

    public static func unavailable(_ reason: String) -> HealthAnswer {
        HealthAnswer(status: "unavailable", reason: reason)
    }
}

/// `POST /v1/ingest` after the commit: `{"ack":1236}`, or `{"ack":null}` for
/// a message sent without `seq`.
public struct HTTPIngestAck: Sendable, Equatable, Codable {
    public var ack: Int64?
    /// Commands waiting for the device, now marked sent (contract v1.2); left out when none.
    public var commands: [CommandMessage]?

    public init(ack: Int64?, commands: [CommandMessage]? = nil) {
        self.ack = ack
        self.commands = commands
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ack, forKey: .ack)  // null, not left out
        if let commands, !commands.isEmpty { try container.encode(commands, forKey: .commands) }
    }
}

/// `GET /v1/ingest/commands`: `{"commands":[…]}`, the waiting commands, now marked sent.
public struct WaitingCommands: Sendable, Equatable, Codable {
    public var commands: [CommandMessage]
    public init(commands: [CommandMessage]) { self.commands = commands }
}

/// Every HTTP error: `{"error":"<code>","message":…}`.
public struct APIErrorAnswer: Sendable, Equatable, Codable {
    public var error: String
    public var message: String?

    public init(error: String, message: String?) {
        self.error = error
        self.message = message
    }
}

/// `POST` and `DELETE /v1/session`: `{"status":"ok"}`.
public struct SessionChange: Sendable, Equatable, Codable {
    public var status = "ok"
    public init() {}
}

/// `GET /v1/session`: `{"authenticated":true,"kind":"control","csrf":"thx_…"}`.
/// `kind` is the kind of the token behind the credential (what the page may
/// offer); `csrf`, for a dashboard session, the value its changes carry in
/// `X-Telehub-CSRF`.
public struct SessionState: Sendable, Equatable, Codable {
    public var authenticated: Bool
    public var kind: TokenKind?
    public var csrf: String?

    public init(authenticated: Bool, kind: TokenKind? = nil, csrf: String? = nil) {
        self.authenticated = authenticated
        self.kind = kind
        self.csrf = csrf
    }
}

/// `POST /v1/session`'s body: `{"token":"thr_…"}`.
public struct SessionLogin: Sendable, Equatable, Codable {
    public var token: String
    public init(token: String) { self.token = token }
}

/// The `data` of a stream `presence` event: `{"device":…,"online":true,"ts":…}`.
public struct PresenceEvent: Sendable, Equatable, Codable {
    public var device: String
    public var online: Bool
    public var ts: Int64

    public init(device: String, online: Bool, ts: Int64) {
        self.device = device
        self.online = online
        self.ts = ts
    }
}
