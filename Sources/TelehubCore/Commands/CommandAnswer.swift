import Foundation

/// A device's answer to a command: `command_ack` (received), or
/// `command_result` (carried out, with its result or failure message).
public struct CommandAnswer: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case ack
        case result(succeeded: Bool)
    }

    public var id: String
    public var kind: Kind
    public var result: JSONValue?
    public var message: String?

    public static let maxIDBytes = 64
    public static let maxResultBytes = 8 * 1024
    public static let maxMessageBytes = 1024

    public init(id: String, kind: Kind, result: JSONValue? = nil, message: String? = nil) {
        self.id = id
        self.kind = kind
        self.result = result
        self.message = message
    }

    /// The lifecycle event it stands for.
    public var event: CommandLifecycle.Event {
        switch kind {
        case .ack: .ack
        case .result(let succeeded): .result(succeeded: succeeded)
        }
    }
}

/// `{"type":"command","id":…,"name":…,"args":{…},"expiresAt":…}`, hub → device.
public struct CommandMessage: Sendable, Equatable, Codable {
    public var type = "command"
    public var id: String
    public var name: String
    public var args: JSONValue
    public var expiresAt: Int64

    public init(_ record: CommandRecord) {
        self.id = record.id
        self.name = record.name
        self.args = record.args
        self.expiresAt = record.expiresAt
    }

    public var json: String { JSONEncoder.wireText(self) }
}
