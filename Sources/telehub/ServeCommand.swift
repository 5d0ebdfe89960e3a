import ArgumentParser
import Foundation
import Hummingbird
import Logging
import TelehubAuth
import TelehubCore
import TelehubServer
import TelehubStore

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the hub; prints a dashboard URL holding a read token for this run.",
        discussion: Settings.helpText)

    @OptionGroup var store: StoreOptions
    @Option(help: "A config file of `key = value` lines (flat TOML; see telehub.example.toml), or TELEHUB_CONFIG.")
    var config: String?
    @Flag(help: "Print every setting with the value it would have, as a config file, and exit.")
    var printConfig = false
    @Argument(parsing: .allUnrecognized, help: "Settings as --key value; the list follows.")
    var settings: [String] = []

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var configuration: HubConfiguration
        do {
            configuration = try HubConfiguration.load(
                flags: settings, environment: environment, configFile: config ?? environment["TELEHUB_CONFIG"])
        } catch {
            throw CLIError(error.description)
        }
        if printConfig {
            print(configuration.configFileText(), terminator: "")
            return
        }
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        // A token nobody was shown is a credential nobody needs: under a
        // service manager stdout is a log that others may read.
        // Every device connection is a descriptor: take all the process may have.
        let files = OpenFileLimit.raiseToHard()
        Logger(label: "telehub").info(
            "open files: soft limit \(files.before.soft) raised to \(files.after.soft) (hard \(files.after.hard)); device connections past \(files.after.connectionCapacity) are refused with 503")
        let printsTokenURL = configuration.printTokenURL ?? (isatty(STDOUT_FILENO) == 1)
        configuration.sessionReadToken = printsTokenURL ? TokenSecret.generate(.read).value : nil
        let database = try await store.open(busyTimeout: 2)
        let sessionToken = configuration.sessionReadToken
        let host = configuration.host
        let scheme = configuration.usesTLS ? "https" : "http"
        let app = try buildApplication(configuration: configuration, store: database) { port in
            let shown = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
            let line =
                if let sessionToken {
                    "Telehub is running. Dashboard: \(scheme)://\(shown):\(port)/?token=\(sessionToken)\n"
                } else {
                    "Telehub is running on \(scheme)://\(shown):\(port)/ (sign in with `telehub token create --read`; "
                        + "--token-url prints a sign-in link)\n"
                }
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        // Every service has stopped (the ingest actor committed its last
        // batch) before `runService` returns; only then is the store closed.
        do {
            try await app.runService()
        } catch {
            await database.close()
            throw error
        }
        await database.close()
    }
}
