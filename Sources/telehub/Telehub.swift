import ArgumentParser

@main
struct Telehub: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "telehub",
        abstract: "A self-hosted IoT telemetry hub: WebSocket ingest, SQLite history, a live dashboard.",
        subcommands: [ServeCommand.self, TokenCommand.self, DeviceCommand.self, ExportCommand.self, BackupCommand.self, BenchCommand.self, SimulateCommand.self]
    )
}
