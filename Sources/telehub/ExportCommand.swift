import ArgumentParser
import Foundation
import TelehubCore
import TelehubStore

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write stored readings to stdout as CSV (device,metric,ts,time,value) or NDJSON.")

    @OptionGroup var store: StoreOptions
    @Option(help: "Only these devices (comma-separated).") var device: String?
    @Option(help: "Only these metrics (comma-separated).") var metric: String?
    @Option(help: "From this time, in ms since the Unix epoch (inclusive).") var from: String?
    @Option(help: "Up to this time, in ms since the Unix epoch (inclusive).") var to: String?
    @Option(help: "csv or ndjson.") var format: String = "csv"

    /// The same bounds as `GET /v1/export.csv`.
    private func query() throws(ValidationError) -> ExportQuery {
        let values = ["device": device, "metric": metric, "from": from, "to": to, "format": format]
        do throws(QueryError) {
            return try ExportQuery(parameter: { key in values[key].flatMap { $0 }.map { Substring($0) } })
        } catch {
            throw ValidationError(error.message)
        }
    }

    func validate() throws {
        _ = try query()
    }

    func run() async throws {
        let query = try query()
        let output = FileHandle.standardOutput
        try await store.open().export(ExportFilter(query), as: query.format) { chunk in
            try output.write(contentsOf: Data(chunk.utf8))
        }
    }
}

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the database to PATH while the hub runs (a consistent snapshot).",
        discussion: """
            To restore: stop the hub, move the backup file to the database path (and remove any \
            -wal and -shm files next to it), then start the hub.
            """)

    @OptionGroup var store: StoreOptions
    @Argument(help: "Where to write the copy; must not exist yet.") var path: String

    func run() async throws {
        guard !FileManager.default.fileExists(atPath: path) else { throw CLIError("\(path) already exists") }
        try await store.open().backup(to: path)
        print("backed up \(store.path) to \(path)")
    }
}
