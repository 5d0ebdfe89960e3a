import ArgumentParser
import Foundation
import TelehubCore
import TelehubServer
import TelehubStore

/// `telehub state …` (contract v1.2, "Admin CLI additions"): a device's
/// desired and reported state. A running hub sends a changed desired object
/// to its device within a quarter of a second.
struct StateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "state", abstract: "A device's desired and reported state.",
        subcommands: [Get.self, Replace.self, Patch.self])

    struct Get: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print both documents and what differs.")

        @OptionGroup var store: StoreOptions
        @Argument(help: "The device.") var device: String
        @Flag(help: "Print the object of GET /v1/devices/{name}/state.") var json = false

        func run() async throws {
            guard let state = try await store.open().deviceState(device: device) else { throw CLIError("no device \(device.prefix(80))") }
            if json {
                print(try Output.json(state))
                return
            }
            print("desired  v\(state.desired.version)  \(state.desired.state.text)")
            print("reported v\(state.reported.version)  \(state.reported.state.text)  (applied \(state.reported.applied.map(String.init) ?? "-"))")
            print("delta    \(state.delta.text)")
        }
    }

    struct Replace: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set", abstract: "Replace the desired object.")

        @OptionGroup var store: StoreOptions
        @Argument(help: "The device.") var device: String
        @Argument(help: "The whole desired object, JSON.") var state: String
        @Option(help: "Change it only if its version is this one.") var ifVersion: Int64?

        func run() async throws {
            try await StateCommand.change(store, device, .replace(try StateCommand.object(state)), ifVersion)
        }
    }

    struct Patch: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Merge a JSON merge patch (RFC 7396; null deletes) into the desired object.")

        @OptionGroup var store: StoreOptions
        @Argument(help: "The device.") var device: String
        @Argument(help: "The patch, a JSON object.") var patch: String
        @Option(help: "Change it only if its version is this one.") var ifVersion: Int64?

        func run() async throws {
            try await StateCommand.change(store, device, .patch(try StateCommand.object(patch)), ifVersion)
        }
    }

    static func object(_ text: String) throws -> JSONValue {
        guard let value = try? JSONValue.parse(text), case .object = value else {
            throw ValidationError("expected a JSON object: \(text.prefix(80))")
        }
        return value
    }

    static func change(_ store: StoreOptions, _ device: String, _ change: DesiredChange, _ ifVersion: Int64?) async throws {
        do {
            let states = try await store.open()
            let state = try await states.changeDesired(device: device, change, ifVersion: ifVersion, now: EpochClock.nowMs())
            await OutsideChanges.announce(state: state, of: device, in: states)
            print("desired v\(state.desired.version) \(state.desired.state.text)")
        } catch let error as StateStoreError {
            switch error {
            case .unknownDevice(let name): throw CLIError("no device \(name.prefix(80))")
            case .versionMismatch(let current): throw CLIError("the desired state is at version \(current), not \(ifVersion ?? -1); nothing changed")
            case .invalid(let problem): throw CLIError(problem)
            }
        }
    }
}
