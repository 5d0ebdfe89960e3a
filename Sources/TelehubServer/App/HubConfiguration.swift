public import TelehubCore

/// Everything a running hub can be told, with defaults that suit a small box.
/// The defaults are here and only here; `Settings` reads every setting from a
/// config file, `TELEHUB_*` variables and flags (`HubConfiguration.load`).
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
    /// Proxies whose `X-Forwarded-For` is believed (`ClientAddress`).
    public var trustedProxies: Set<String> = []
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
    public var flushIntervalMs = 2
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
    /// Largest permessage-deflate window (9 to 15 bits) a client may compress
    /// with: smaller costs less memory while a message is inflated.
    public var deflateWindowBits = 10
    /// How long a webhook delivery is retried before it becomes a dead letter.
    public var webhookRetryForMs: Int64 = 86_400_000
    /// Longest wait for a webhook receiver's answer.
    public var webhookTimeout: Duration = .seconds(10)
    /// Longest wait between two attempts of a delivery (backoff doubles from 1 s up to it).
    public var webhookRetryMax: Duration = .seconds(300)
    /// Webhook calls in flight at once, in all; and to one receiver (host and port).
    public var webhookConcurrency = 8
    public var webhookConcurrencyPerReceiver = 2
    /// Commands one device may have not yet final (`--max-queued-commands`).
    public var maxQueuedCommands = 1000
    /// How often the hub looks for commands whose ttl has passed.
    public var commandExpiryInterval: Duration = .milliseconds(250)
    /// How often the hub looks for commands whose ttl has passed.
    public var alertCheckInterval: Duration = .milliseconds(250)
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
    /// `trace` to `critical`, for the log on stderr.
    public var logLevel = "info"
    /// An extra read token valid for this process only, printed in the dashboard URL.
    public var sessionReadToken: String?
    /// Print that URL (`token-url`); nil: only when stdout is a terminal.
    public var printTokenURL: Bool?

    public init() {}
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
    /// `errorWindow.windowMs` as a duration, for the settings table.
    var errorWindowDuration: Duration {
        get { .milliseconds(errorWindow.windowMs) }
        set { errorWindow.windowMs = Int64(newValue / .milliseconds(1)) }
    }

    /// What no single setting can check: each value's own range is checked as
    /// it is read (`Settings`).
    /// - Returns: one line per problem; empty when all is well.
    public func problems() -> [String] {
        var problems: [String] = []
        if (tlsCertificatePath == nil) != (tlsKeyPath == nil) {
            problems.append("tls-cert and tls-key go together: give both or neither")
        }
        return problems
    }
}
