import TelehubCore

/// Everything a running hub can be told, with defaults that suit a small box.
/// Filled from `TELEHUB_*` variables and then from command-line flags, in one place
/// (`HubConfiguration(environment:)` and the `serve` command).
public struct HubConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var publicDirectory = "Public"
    /// Where system browser libraries live; the dashboard loads dygraphs from
    /// `/vendor/dygraphs/` (Debian's `libjs-dygraphs`).
    public var vendorDirectory = "/usr/share/javascript"
    public var limits = IngestLimits()
    public var errorWindow = ErrorWindow()
    /// Distinct metrics one device may have (`too_many_series` beyond).
    public var maxSeries = 1000
    /// Failed authentications one address may make in `authFailWindow` before
    /// it is answered 429; 0 turns the limit off.
    public var authFailLimit = 20
    public var authFailWindow: Duration = .seconds(10)
    /// Replies (and their bytes) that may wait for a device that does not
    /// read them before its connection is closed with 1008.
    public var maxQueuedReplies = 1000
    public var maxQueuedReplyBytes = 1 << 20
    /// A request head must be complete within this time of the connection
    /// opening or of the previous response, and at most this large.
    public var requestHeadTimeout: Duration = .seconds(10)
    public var maxRequestHeadBytes = 16 * 1024
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
    /// Readings per second one device may sustain (token bucket); 0 turns the limit off.
    public var rateLimitReadingsPerSecond = 2000
    /// Readings a device may send at once after a quiet period (at least `maxBatch`).
    public var rateLimitBurst = 10_000
    /// How long a message may wait for room in a full ingest queue before it
    /// is refused with a retryable `overloaded`.
    public var overloadWaitMs = 2000
    /// How long shutdown waits for the acks that are due before closing device sockets.
    public var drainTimeout: Duration = .milliseconds(1500)
    /// How long a closing connection waits for the device's answer to the close.
    public var closeTimeout: Duration = .seconds(2)
    /// How often live connections are checked against revoked and expired tokens.
    public var tokenCheckInterval: Duration = .seconds(1)
    /// permessage-deflate window (9 to 15 bits): smaller costs less memory per connection.
    public var deflateWindowBits = 10
    /// zlib memory level (1 to 9) of the hub's compressor: 4 costs 8 KiB instead of 128 KiB per connection.
    public var deflateMemoryLevel = 4
    /// Offer permessage-deflate to clients that ask for it.
    public var deflate = true
    /// Raw readings are kept this long (default 30 days)...
    public var retentionMs: Int64 = 30 * 86_400_000
    /// ...and their minute and hour rollups this long (default two years).
    public var rollupRetentionMs: Int64 = 730 * 86_400_000
    /// When set, the oldest raw data is deleted while the store is larger.
    public var maxDatabaseBytes: Int64?
    /// Rows one retention step may delete; steps are short transactions between flushes.
    public var retentionStepRows = 5000
    public var retentionStepPause: Duration = .milliseconds(50)
    public var retentionCheckInterval: Duration = .seconds(60)
    /// PEM files; with both set the hub serves https and wss on its port.
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
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
        publicDirectory = environment["TELEHUB_PUBLIC"] ?? publicDirectory
        vendorDirectory = environment["TELEHUB_VENDOR_JS"] ?? vendorDirectory
        limits.maxBatch = int("TELEHUB_MAX_BATCH") ?? limits.maxBatch
        limits.maxMessageBytes = int("TELEHUB_MAX_MESSAGE_BYTES") ?? limits.maxMessageBytes
        heartbeatSeconds = int("TELEHUB_HEARTBEAT_SECONDS") ?? heartbeatSeconds
        flushValues = int("TELEHUB_FLUSH_VALUES") ?? flushValues
        flushIntervalMs = int("TELEHUB_FLUSH_INTERVAL_MS") ?? flushIntervalMs
        queueValues = int("TELEHUB_QUEUE_VALUES") ?? queueValues
        streamBufferEvents = int("TELEHUB_STREAM_BUFFER_EVENTS") ?? streamBufferEvents
        replayEvents = int("TELEHUB_REPLAY_EVENTS") ?? replayEvents
        keepaliveSeconds = int("TELEHUB_KEEPALIVE_SECONDS") ?? keepaliveSeconds
        limits.maxMetricsPerReading = int("TELEHUB_MAX_METRICS") ?? limits.maxMetricsPerReading
        errorWindow.maxErrors = int("TELEHUB_MAX_ERRORS") ?? errorWindow.maxErrors
        maxSeries = int("TELEHUB_MAX_SERIES") ?? maxSeries
        authFailLimit = int("TELEHUB_AUTH_FAIL_LIMIT") ?? authFailLimit
        errorWindow.windowMs = int("TELEHUB_ERROR_WINDOW_MS").map(Int64.init) ?? errorWindow.windowMs
        rateLimitReadingsPerSecond = int("TELEHUB_RATE_LIMIT") ?? rateLimitReadingsPerSecond
        rateLimitBurst = int("TELEHUB_RATE_BURST") ?? rateLimitBurst
        overloadWaitMs = int("TELEHUB_OVERLOAD_WAIT_MS") ?? overloadWaitMs
        deflateWindowBits = int("TELEHUB_DEFLATE_WINDOW_BITS") ?? deflateWindowBits
        deflateMemoryLevel = int("TELEHUB_DEFLATE_MEMORY_LEVEL") ?? deflateMemoryLevel
        deflate = environment["TELEHUB_DEFLATE"].map { $0 != "0" && $0 != "false" } ?? deflate
        retentionMs = environment["TELEHUB_RETENTION"].flatMap(SpanParser.milliseconds) ?? retentionMs
        rollupRetentionMs = environment["TELEHUB_ROLLUP_RETENTION"].flatMap(SpanParser.milliseconds) ?? rollupRetentionMs
        maxDatabaseBytes = environment["TELEHUB_MAX_DB_SIZE"].flatMap(ByteSizeParser.bytes) ?? maxDatabaseBytes
        tlsCertificatePath = environment["TELEHUB_TLS_CERT"] ?? tlsCertificatePath
        tlsKeyPath = environment["TELEHUB_TLS_KEY"] ?? tlsKeyPath
    }
}

extension HubConfiguration {
    /// Both PEM files given: https and wss.
    public var usesTLS: Bool { tlsCertificatePath != nil && tlsKeyPath != nil }

    /// Listening on loopback only: `/metrics` needs no token.
    public var listensOnLoopbackOnly: Bool {
        ["127.0.0.1", "::1", "localhost"].contains(host) || host.hasPrefix("127.")
    }
}

extension HubConfiguration {
    /// Every numeric setting with its allowed range, so that no value from a
    /// flag or a `TELEHUB_*` variable can reach the server unchecked (a
    /// negative frame size or interval would trap deep inside).
    /// - Returns: one line per setting out of range; empty when all are fine.
    public func problems() -> [String] {
        let ranges: [(String, Int, ClosedRange<Int>)] = [
            ("port", port, 0...65535),
            ("max-message-bytes", limits.maxMessageBytes, 1024...(64 << 20)),
            ("max-batch", limits.maxBatch, 1...100_000),
            ("max-metrics", limits.maxMetricsPerReading, 1...10_000),
            ("heartbeat-seconds", heartbeatSeconds, 1...3600),
            ("flush-values", flushValues, 1...1_000_000),
            ("flush-interval-ms", flushIntervalMs, 1...60_000),
            ("queue-values", queueValues, 1...100_000_000),
            ("overload-wait-ms", overloadWaitMs, 1...600_000),
            ("max-errors", errorWindow.maxErrors, 1...1_000_000),
            ("rate-limit", rateLimitReadingsPerSecond, 0...100_000_000),
            ("rate-burst", rateLimitBurst, 1...100_000_000),
            ("max-series", maxSeries, 1...1_000_000),
            ("auth-fail-limit", authFailLimit, 0...1_000_000),
            ("deflate-window-bits", deflateWindowBits, 9...15),
            ("deflate-memory-level", deflateMemoryLevel, 1...9),
            ("stream-buffer-events", streamBufferEvents, 1...10_000_000),
            ("replay-events", replayEvents, 1...10_000_000),
            ("keepalive-seconds", keepaliveSeconds, 1...3600),
        ]
        var problems = ranges.compactMap { name, value, range in
            range.contains(value) ? nil : "\(name) is \(value); it must be between \(range.lowerBound) and \(range.upperBound)"
        }
        if errorWindow.windowMs < 1 || errorWindow.windowMs > 3_600_000 {
            problems.append("error window is \(errorWindow.windowMs) ms; it must be between 1 and 3600000")
        }
        for (name, value) in [("retention", retentionMs), ("rollup-retention", rollupRetentionMs)] where value < 1 {
            problems.append("\(name) must be positive")
        }
        return problems
    }
}
