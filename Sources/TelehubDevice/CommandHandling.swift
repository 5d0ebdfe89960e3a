public import TelehubCore

/// A command from the hub, as a handler receives it: the `command` message
/// itself (`id`, `name`, `args`, `expiresAt`, after which the hub ignores a result).
public typealias ReceivedCommand = CommandMessage

/// Carries out one command: returns its result (a JSON object, at most
/// 8 KiB), or throws to fail it with the error's description as the message.
public typealias CommandHandler = @Sendable (ReceivedCommand) async throws -> JSONValue

/// Applies a desired state (`state`, at `version`): returns the reported
/// state to send (a merge patch), or nil to report `state` itself as applied.
/// Throwing leaves the version unapplied; it is offered again on the next
/// connection.
public typealias DesiredStateHandler = @Sendable (_ state: JSONValue, _ version: Int64) async throws -> JSONValue?

/// What a handler's outcome becomes on the wire, within the contract's bounds.
enum CommandOutcome {
    static func answer(_ command: ReceivedCommand, handler: CommandHandler?) async -> CommandAnswer {
        guard let handler else { return failed(command, "no handler for command \(command.name)") }
        do {
            let result = try await handler(command)
            guard case .object = result else { return failed(command, "the handler's result is not a JSON object") }
            let bytes = result.text.utf8.count
            guard bytes <= CommandAnswer.maxResultBytes, result.depth <= CommandRequest.maxDepth else {
                return failed(command, "the handler's result is \(bytes) bytes or too deep; at most \(CommandAnswer.maxResultBytes) bytes, depth \(CommandRequest.maxDepth)")
            }
            return CommandAnswer(id: command.id, kind: .result(succeeded: true), result: result)
        } catch {
            return failed(command, String(describing: error))
        }
    }

    static func failed(_ command: ReceivedCommand, _ message: String) -> CommandAnswer {
        CommandAnswer(id: command.id, kind: .result(succeeded: false), message: truncated(message))
    }

    /// At most `CommandAnswer.maxMessageBytes` of UTF-8, cut on a character boundary.
    static func truncated(_ message: String) -> String {
        guard message.utf8.count > CommandAnswer.maxMessageBytes else { return message }
        var cut = ""
        for character in message {
            guard cut.utf8.count + character.utf8.count <= CommandAnswer.maxMessageBytes else { break }
            cut.append(character)
        }
        return cut
    }
}
