import ArgumentParser
import Foundation

@main
struct Telehub: AsyncParsableCommand {
    /// Every file the hub or the CLI creates (database, WAL, backup) is
    /// readable by its owner only: it holds every reading and token hash.
    static func main() async {
        umask(0o077)
        await main(nil)
    }

    static let configuration = CommandConfiguration(
        commandName: "telehub",
        abstract: "A self-hosted IoT telemetry hub: WebSocket ingest, SQLite history, a live dashboard.",
        subcommands: [ServeCommand.self, TokenCommand.self, DeviceCommand.self, MetricCommand.self, AlertCommand.self, CommandCommand.self, StateCommand.self, ExportCommand.self, ImportCommand.self, BackupCommand.self, BenchCommand.self, SimulateCommand.self]
    )
}
