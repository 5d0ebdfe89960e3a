import ArgumentParser
import Foundation
import Hummingbird
import Logging
import TelehubAuth
import TelehubCore
import TelehubServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run the hub; prints a dashboard URL holding a read token for this run.")

    @OptionGroup var store: StoreOptions
    @Option(help: "Address to listen on (default 127.0.0.1, or TELEHUB_HOST).") var host: String?
    @Option(help: "Port (default 8080, or TELEHUB_PORT; 0 picks a free one).") var port: Int?
    @Option(name: .customLong("public"), help: "Dashboard folder (default ./Public, or TELEHUB_PUBLIC).")
    var publicDirectory: String?
    @Option(help: "System browser libraries (default /usr/share/javascript, or TELEHUB_VENDOR_JS); charts use libjs-dygraphs.")
    var vendorJs: String?
    @Flag(help: "Also run a few simulated devices, to see live data at once.") var demo = false
    @Option(help: "Largest accepted message in bytes (default 1048576).") var maxMessageBytes: Int?
    @Option(help: "Most readings in one batch message (default 1000).") var maxBatch: Int?
    @Option(help: "Seconds between server pings (default 20).") var heartbeatSeconds: Int?
    @Option(help: "Values that trigger a flush (default 5000).") var flushValues: Int?
    @Option(help: "Longest wait before a flush, in ms (default 20).") var flushIntervalMs: Int?
    @Option(help: "Pending values before devices are slowed down (default 100000).") var queueValues: Int?
    @Option(help: "Longest wait for room in a full queue before `overloaded`, in ms (default 2000).")
    var overloadWaitMs: Int?
    @Option(help: "Most metrics in one reading (default 256).") var maxMetrics: Int?
    @Option(help: "Invalid messages a connection may send in 10 s before it is closed with 1008 (default 100).")
    var maxErrors: Int?
    @Option(help: "Distinct metrics one device may have (default 1000, or TELEHUB_MAX_SERIES).") var maxSeries: Int?
    @Option(help: "Failed authentications from one address in 10 s before it gets 429; 0 for no limit (default 20, or TELEHUB_AUTH_FAIL_LIMIT).")
    var authFailLimit: Int?
    @Option(help: "Readings per second one device may send; 0 for no limit (default 2000).") var rateLimit: Int?
    @Option(help: "Readings a device may send at once after a quiet period (default 10000; never below --max-batch).") var rateBurst: Int?
    @Option(help: "permessage-deflate window bits, 9 to 15 (default 10).") var deflateWindowBits: Int?
    @Flag(help: "Do not offer permessage-deflate.") var noDeflate = false
    @Option(help: "Keep raw readings this long, e.g. 30d (default 30d).") var retention: String?
    @Option(help: "Keep minute and hour rollups this long (default 730d).") var rollupRetention: String?
    @Option(help: "Delete the oldest raw data while the database is larger, e.g. 2GB.") var maxDbSize: String?
    @Option(help: "PEM certificate chain; with --tls-key serves https and wss.") var tlsCert: String?
    @Option(help: "PEM private key for --tls-cert.") var tlsKey: String?

    func validate() throws {
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("give both --tls-cert and --tls-key") }
        for (name, span) in [("--retention", retention), ("--rollup-retention", rollupRetention)] {
            if let span, SpanParser.milliseconds(span) == nil {
                throw ValidationError("invalid \(name) \"\(span)\": use a number and s, m, h or d, e.g. 30d")
            }
        }
        if let maxDbSize, ByteSizeParser.bytes(maxDbSize) == nil {
            throw ValidationError("invalid --max-db-size \"\(maxDbSize)\": use e.g. 500MB or 2GB")
        }
        if let maxSeries, !(1...1_000_000).contains(maxSeries) {
            throw ValidationError("--max-series must be between 1 and 1000000")
        }
        if let authFailLimit, !(0...1_000_000).contains(authFailLimit) {
            throw ValidationError("--auth-fail-limit must be between 0 and 1000000")
        }
        if let bits = deflateWindowBits, !(9...15).contains(bits) {
            throw ValidationError("--deflate-window-bits must be between 9 and 15")
        }
    }

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            let level = ProcessInfo.processInfo.environment["TELEHUB_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
            handler.logLevel = level ?? .info
            return handler
        }
        let configuration = makeConfiguration()
        let problems = configuration.problems()
        guard problems.isEmpty else {
            throw CLIError("invalid configuration (flags or TELEHUB_* variables):\n  " + problems.joined(separator: "\n  "))
        }
        let database = try store.open(busyTimeout: 2)
        let sessionToken = configuration.sessionReadToken ?? ""
        let host = configuration.host
        let app = try buildApplication(configuration: configuration, store: database) { port in
            let shown = host == "0.0.0.0" || host == "::" ? "127.0.0.1" : host
            let scheme = configuration.usesTLS ? "https" : "http"
            let line = "Telehub is running. Dashboard: \(scheme)://\(shown):\(port)/?token=\(sessionToken)\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        try await app.runService()
    }

    private func makeConfiguration() -> HubConfiguration {
        var configuration = HubConfiguration(environment: ProcessInfo.processInfo.environment)
        configuration.host = host ?? configuration.host
        configuration.port = port ?? configuration.port
        configuration.publicDirectory = publicDirectory ?? configuration.publicDirectory
        configuration.demo = demo
        configuration.vendorDirectory = vendorJs ?? configuration.vendorDirectory
        configuration.limits.maxMessageBytes = maxMessageBytes ?? configuration.limits.maxMessageBytes
        configuration.limits.maxBatch = maxBatch ?? configuration.limits.maxBatch
        configuration.heartbeatSeconds = heartbeatSeconds ?? configuration.heartbeatSeconds
        configuration.flushValues = flushValues ?? configuration.flushValues
        configuration.flushIntervalMs = flushIntervalMs ?? configuration.flushIntervalMs
        configuration.queueValues = queueValues ?? configuration.queueValues
        configuration.overloadWaitMs = overloadWaitMs ?? configuration.overloadWaitMs
        configuration.limits.maxMetricsPerReading = maxMetrics ?? configuration.limits.maxMetricsPerReading
        configuration.errorWindow.maxErrors = maxErrors ?? configuration.errorWindow.maxErrors
        configuration.maxSeries = maxSeries ?? configuration.maxSeries
        configuration.authFailLimit = authFailLimit ?? configuration.authFailLimit
        configuration.rateLimitReadingsPerSecond = rateLimit ?? configuration.rateLimitReadingsPerSecond
        configuration.rateLimitBurst = rateBurst ?? configuration.rateLimitBurst
        configuration.deflateWindowBits = deflateWindowBits ?? configuration.deflateWindowBits
        if noDeflate { configuration.deflate = false }
        configuration.retentionMs = retention.flatMap(SpanParser.milliseconds) ?? configuration.retentionMs
        configuration.rollupRetentionMs = rollupRetention.flatMap(SpanParser.milliseconds) ?? configuration.rollupRetentionMs
        configuration.maxDatabaseBytes = maxDbSize.flatMap(ByteSizeParser.bytes) ?? configuration.maxDatabaseBytes
        configuration.tlsCertificatePath = tlsCert ?? configuration.tlsCertificatePath
        configuration.tlsKeyPath = tlsKey ?? configuration.tlsKeyPath
        configuration.sessionReadToken = TokenSecret.generate(.read).value
        return configuration
    }
}
