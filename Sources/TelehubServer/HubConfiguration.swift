import TelehubCore

/// Everything a running hub can be told, with defaults that suit a small box.
/// Filled from `TELEHUB_*` variables and then from command-line flags, in one place
/// (`HubConfiguration(environment:)` and the `serve` command).
public struct HubConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var databasePath = "./telehub-data/telehub.sqlite"
    public var publicDirectory = "Public"
    public var limits = IngestLimits()
    public var errorWindow = ErrorWindow()
    public var heartbeatSeconds = 20
    /// A flush starts when this many values are pending...
    public var flushValues = 5000
    /// ...or when the oldest pending value has waited this long.
    public var flushIntervalMs = 20
    /// Pending values beyond which devices wait (backpressure) instead of memory growing.
    public var queueValues = 100_000
    /// Events an SSE client may fall behind before it is disconnected (it resumes with `Last-Event-ID`).
    public var streamBufferEvents = 8192
    /// Reading events kept for `Last-Event-ID` resume.
    public var replayEvents = 10_000
    public var keepaliveSeconds = 15
    /// Runs simulated devices in-process, for a first look at the dashboard.
    public var demo = false
    /// An extra read token valid for this process only, printed in the dashboard URL.
    public var sessionReadToken: String?

    public init() {}

    /// Reads `TELEHUB_*` variables over the defaults; unknown or malformed values are ignored.
    public init(environment: [String: String]) {
        self.init()
        func int(_ key: String) -> Int? { environment[key].flatMap { Int($0) } }
        host = environment["TELEHUB_HOST"] ?? host
        port = int("TELEHUB_PORT") ?? port
        databasePath = environment["TELEHUB_DB"] ?? databasePath
        publicDirectory = environment["TELEHUB_PUBLIC"] ?? publicDirectory
        limits.maxBatch = int("TELEHUB_MAX_BATCH") ?? limits.maxBatch
        limits.maxMessageBytes = int("TELEHUB_MAX_MESSAGE_BYTES") ?? limits.maxMessageBytes
        heartbeatSeconds = int("TELEHUB_HEARTBEAT_SECONDS") ?? heartbeatSeconds
        flushValues = int("TELEHUB_FLUSH_VALUES") ?? flushValues
        flushIntervalMs = int("TELEHUB_FLUSH_INTERVAL_MS") ?? flushIntervalMs
        queueValues = int("TELEHUB_QUEUE_VALUES") ?? queueValues
        streamBufferEvents = int("TELEHUB_STREAM_BUFFER_EVENTS") ?? streamBufferEvents
        replayEvents = int("TELEHUB_REPLAY_EVENTS") ?? replayEvents
        keepaliveSeconds = int("TELEHUB_KEEPALIVE_SECONDS") ?? keepaliveSeconds
    }
}
