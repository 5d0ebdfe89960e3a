/// The stream's `event: command`, at every status change:
/// `{"id":…,"device":…,"name":…,"status":…,"ts":…}`.
public struct CommandStreamEvent: Sendable, Equatable, Codable {
    public var id: String
    public var device: String
    public var name: String
    public var status: CommandStatus
    public var ts: Int64

    public init(_ record: CommandRecord, at ts: Int64) {
        self.id = record.id
        self.device = record.device
        self.name = record.name
        self.status = record.status
        self.ts = ts
    }
}

/// `GET /v1/devices/{name}/commands`: `{"commands":[…]}`, newest first.
public struct CommandList: Sendable, Equatable, Codable {
    public var commands: [CommandRecord]
    public init(commands: [CommandRecord]) { self.commands = commands }
}
