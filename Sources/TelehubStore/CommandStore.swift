public import TelehubCore

/// A command to store: its id, its device and what was asked.
public struct NewCommand: Sendable, Equatable {
    public var id: String
    public var device: String
    public var request: CommandRequest
    public var createdAt: Int64

    public init(id: String = CommandRecord.newID(), device: String, request: CommandRequest, createdAt: Int64) {
        self.id = id
        self.device = device
        self.request = request
        self.createdAt = createdAt
    }

    public var expiresAt: Int64 { createdAt + request.ttlMs }

    public func record() -> CommandRecord {
        CommandRecord(
            id: id, device: device, name: request.name, args: request.args, status: .queued, priority: request.priority,
            createdAt: createdAt, expiresAt: expiresAt)
    }
}

/// A device's answer to a command, or the operator's cancel, or time.
public struct CommandChange: Sendable, Equatable {
    public var id: String
    /// The device that answered: a device may change only its own commands.
    /// Nil for the operator and the expiry service.
    public var device: String?
    public var event: CommandLifecycle.Event
    public var result: JSONValue?
    public var message: String?

    public init(id: String, device: String?, event: CommandLifecycle.Event, result: JSONValue? = nil, message: String? = nil) {
        self.id = id
        self.device = device
        self.event = event
        self.result = result
        self.message = message
    }
}

extension CommandChange {
    /// What the change makes of `current`, as every store writes it: nil when
    /// nothing changes (another device's command, a repeat, a late answer).
    /// - Throws: `CommandStoreError.final` for a cancel of a final command.
    public func applied(to current: CommandRecord, now: Int64) throws(CommandStoreError) -> CommandRecord? {
        if let device, device != current.device { return nil }
        switch CommandLifecycle.apply(event, to: current.status) {
        case .ignored: return nil
        case .final: throw .final(current)
        case .moves(let next):
            var changed = current
            changed.status = next
            if [.delivered, .succeeded, .failed].contains(next) { changed.deliveredAt = current.deliveredAt ?? now }
            changed.completedAt = next.isFinal ? now : nil
            changed.result = result
            changed.message = message
            return changed
        }
    }
}

extension CommandStatus {
    /// `('queued', 'sent', 'delivered')`: the statuses not final, as the
    /// stores' queries name them (the same text as their partial indexes'
    /// predicates, which the migrations spell out and never change).
    public static let openSQL = "(" + open.map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"
}

public enum CommandStoreError: Error, Equatable, Sendable {
    case unknownDevice(String)
    /// The device has `limit` commands not yet final; nothing was dropped to make room.
    case queueFull(limit: Int)
    /// A cancel of a command that is already final.
    case final(CommandRecord)
}

/// Commands: a durable queue per device (contract v1.2). Every change is
/// one transaction that moves a command only as `CommandLifecycle` allows,
/// so hubs sharing a database, and the CLI, never move one past another.
public protocol CommandStore: Sendable {
    /// Stores a command, unless the device has `maxQueued` not yet final.
    /// - Throws: `CommandStoreError.unknownDevice`, `.queueFull`.
    func enqueueCommand(_ command: NewCommand, maxQueued: Int) async throws -> CommandRecord
    func command(id: String) async throws -> CommandRecord?
    /// Newest first; all devices when `device` is nil, every status when `statuses` is empty.
    func commands(device: String?, statuses: [CommandStatus], limit: Int) async throws -> [CommandRecord]
    /// Marks `sent` (counting the attempt) and returns what to write to the
    /// device's connection now: with `resend` (a new connection) first the
    /// commands sent before and never delivered, then queued ones, highest
    /// priority first and oldest first, until `window` are sent and not
    /// delivered. Commands past their expiry are not sent.
    func takeCommandsToSend(device: String, window: Int, resend: Bool, now: Int64) async throws -> [CommandRecord]
    /// Applies a change where the lifecycle allows it.
    /// - Returns: the command after the change, or nil when nothing changed
    ///   (a repeat, an unknown id, another device's command, a late answer).
    /// - Throws: `CommandStoreError.final` for a cancel of a final command.
    func changeCommand(_ change: CommandChange, now: Int64) async throws -> CommandRecord?
    /// Expires up to `limit` commands not final whose time has come.
    /// - Returns: the commands expired.
    func expireCommands(now: Int64, limit: Int) async throws -> [CommandRecord]
    /// Devices with a queued command (made through another hub or the CLI,
    /// perhaps), so a hub can send it to the device connected to it.
    func devicesWithQueuedCommands() async throws -> Set<String>
    /// The earliest expiry of a command not final, if any.
    func nextCommandExpiry() async throws -> Int64?
    /// How many commands there are of each status, for `/metrics`.
    func commandCounts() async throws -> [CommandStatus: Int]
}
