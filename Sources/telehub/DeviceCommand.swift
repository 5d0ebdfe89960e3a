import ArgumentParser
import TelehubCore
import TelehubStore

struct DeviceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device", abstract: "List and delete devices.", subcommands: [List.self, Delete.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List devices.")

        @OptionGroup var store: StoreOptions
        @Flag(help: "Print a JSON array.") var json = false

        func run() async throws {
            let devices = try await store.open().devices()
            if json {
                print(try Output.json(devices))
                return
            }
            let rows = devices.map { device in
                [device.name, Output.time(device.createdAt), Output.time(device.lastSeen), String(device.lastSeq), String(device.tokens)]
            }
            print(Output.table(["NAME", "CREATED", "LAST SEEN", "LAST SEQ", "TOKENS"], rows))
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a device with all its data and tokens. This cannot be undone.")

        @OptionGroup var store: StoreOptions
        @Argument(help: "The device's name.") var name: String
        @Flag(help: "Confirm the deletion.") var yes = false

        func validate() throws {
            guard yes else { throw ValidationError("deleting \(name) removes its data and tokens; add --yes to confirm") }
        }

        func run() async throws {
            guard try await store.open().deleteDevice(named: name) else { throw CLIError("no device named \"\(name)\"") }
            print("deleted device \(name)")
        }
    }
}
