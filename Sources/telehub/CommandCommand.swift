import ArgumentParser
import Foundation
import TelehubCore
import TelehubServer
import TelehubStore

/// `telehub command …` (contract v1.2, "Admin CLI additions"). Commands are
/// written to the database; a running hub sends one to its device within a
/// quarter of a second.
struct CommandCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "command", abstract: "Send commands to devices, list them, cancel them.",
        subcommands: [Send.self, List.self, Cancel.self])

    struct Send: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Queue a command for a device and print its id (or, with --json, the command).",
            discussion: """
                telehub command send greenhouse-1 set-interval --args '{"seconds":5}' --ttl 1h --wait 30s
                """)

        @OptionGroup var store: StoreOptions
        @Argument(help: "The device.") var device: String
        @Argument(help: "The command's name (letters, digits, '_', '.', '-').") var name: String
        @Option(help: "Its arguments, a JSON object (at most 8 KiB).") var args: String?
        @Option(help: "How long it may wait for a result before it expires, e.g. 1h (1s to 30d; default 24h).") var ttl: String?
        @Option(help: "0 to 9, higher first (default 5).") var priority: Int?
        @Option(help: "Wait this long for a final status, e.g. 30s (at most 1h), and print the command then.") var wait: String?
        @Flag(help: "Print the command as JSON.") var json = false

        func validate() throws {
            _ = try request()
            if let wait {
                guard let ms = SpanParser.milliseconds(wait), ms <= 3_600_000 else {
                    throw ValidationError("--wait takes a span up to 1h, such as 30s")
                }
            }
        }

        func request() throws -> CommandRequest {
            var body: [String: JSONValue] = ["name": .string(name)]
            if let args {
                do { body["args"] = try JSONValue.parse(args) } catch { throw ValidationError("--args is not JSON: \(args.prefix(80))") }
            }
            if let ttl {
                guard let ms = SpanParser.milliseconds(ttl) else { throw ValidationError("--ttl takes a span such as 90s, 1h or 7d") }
                body["ttl"] = .number(Double(ms))
            }
            if let priority { body["priority"] = .number(Double(priority)) }
            do {
                return try CommandRequest.parse(.object(body))
            } catch {
                throw ValidationError(error.message)
            }
        }

        func run() async throws {
            let commands = try await store.open()
            var record: CommandRecord
            do {
                let command = NewCommand(device: device, request: try request(), createdAt: EpochClock.nowMs())
                record = try await commands.enqueueCommand(command, maxQueued: HubConfiguration().maxQueuedCommands)
            } catch let error as CommandStoreError {
                throw CLIError(CommandText.describe(error))
            }
            await OutsideChanges.announce(commands: [record], in: commands)
            if let wait, let ms = SpanParser.milliseconds(wait) {
                let deadline = ContinuousClock.now + .milliseconds(ms)
                while !record.status.isFinal, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                    record = try await commands.command(id: record.id) ?? record
                }
            }
            print(json ? try Output.json(record) : wait == nil ? record.id : "\(record.id) \(record.status.rawValue)")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List commands, newest first.")

        @OptionGroup var store: StoreOptions
        @Option(help: "Only this device's.") var device: String?
        @Option(help: "Only these statuses, comma-separated (queued, sent, delivered, succeeded, failed, expired, canceled).")
        var status: String?
        @Option(help: "At most this many (1 to 10000).") var limit = 100
        @Flag(help: "Print a JSON array.") var json = false

        func validate() throws {
            try Bounds.check("--limit", limit, 1...10_000)
            _ = try statuses()
        }

        func statuses() throws -> [CommandStatus] {
            do {
                return try CommandStatus.list(status ?? "")
            } catch {
                throw ValidationError("--status: \(error)")
            }
        }

        func run() async throws {
            let commands = try await store.open().commands(device: device, statuses: try statuses(), limit: limit)
            if json {
                print(try Output.json(commands))
                return
            }
            let rows = commands.map { command in
                [
                    command.id, command.device, command.name, command.status.rawValue, String(command.priority),
                    String(command.attempts), Output.time(command.createdAt), Output.time(command.completedAt),
                ]
            }
            print(Output.table(["ID", "DEVICE", "NAME", "STATUS", "PRIORITY", "ATTEMPTS", "CREATED", "COMPLETED"], rows))
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Cancel a command that is not final yet.")

        @OptionGroup var store: StoreOptions
        @Argument(help: "The command's id (cmd_…).") var id: String

        func run() async throws {
            do {
                let change = CommandChange(id: id, device: nil, event: .cancel)
                let commands = try await store.open()
                guard let record = try await commands.changeCommand(change, now: EpochClock.nowMs()) else {
                    throw CLIError("no command \(id.prefix(80))")
                }
                await OutsideChanges.announce(commands: [record], in: commands)
                print("\(record.id) \(record.status.rawValue)")
            } catch let error as CommandStoreError {
                throw CLIError(CommandText.describe(error))
            }
        }
    }
}

/// What the CLI says of the store's refusals.
enum CommandText {
    static func describe(_ error: CommandStoreError) -> String {
        switch error {
        case .unknownDevice(let name): "no device \(name)"
        case .queueFull(let limit): "the device has \(limit) commands not yet final; cancel some or wait"
        case .final(let record): "\(record.id) is already \(record.status.rawValue)"
        }
    }
}
