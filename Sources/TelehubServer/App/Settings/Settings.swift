import TelehubCore

/// Every setting of `telehub serve`, in the order `--help` and the example
/// file list them. Defaults live in `HubConfiguration` alone; ranges and
/// help here alone.
public enum Settings {
    public static var all: [Setting] {
        [
            .text("host", \.host, "Address to listen on; 0.0.0.0 for every interface."),
            .integer("port", \.port, 0...65535, "Port; 0 picks a free one."),
            .optionalText("tls-cert", \.tlsCertificatePath, "PEM certificate chain; with tls-key the hub serves https and wss."),
            .optionalText("tls-key", \.tlsKeyPath, "PEM private key for tls-cert."),
            .text("public", \.publicDirectory, "The dashboard's folder."),
            .text("vendor-js", \.vendorDirectory, "System browser libraries; the charts use Debian's libjs-dygraphs."),
            .toggle("demo", \.demo, "Also run a few simulated devices, to see live data at once."),
            .optionalToggle(
                "token-url", \.printTokenURL,
                "Print a dashboard URL holding a read token for this run (and accept that token); unset: only when stdout is a terminal, never into a service manager's log."),
            .choice("log-level", \.logLevel, ["trace", "debug", "info", "notice", "warning", "error", "critical"], "What the hub logs to stderr."),
            // Devices
            .integer("max-message-bytes", \.limits.maxMessageBytes, 1024...(64 << 20), "Largest accepted message, in bytes."),
            .integer("max-batch", \.limits.maxBatch, 1...100_000, "Most readings in one batch message."),
            .integer("max-metrics", \.limits.maxMetricsPerReading, 1...10_000, "Most metrics in one reading."),
            .integer("max-series", \.maxSeries, 1...1_000_000, "Distinct metrics one device may have (too_many_series beyond)."),
            .integer("heartbeat-seconds", \.heartbeatSeconds, 1...3600, "Seconds between server pings; two unanswered close the connection."),
            .integer("max-errors", \.errorWindow.maxErrors, 1...1_000_000, "Invalid messages a connection may send within error-window-ms before it is closed with 1008."),
            .milliseconds("error-window-ms", \.errorWindowDuration, 1...3_600_000, "The window of max-errors, in ms."),
            .integer("rate-limit", \.rateLimitReadingsPerSecond, 0...100_000_000, "Readings per second one device may sustain; 0 for no limit."),
            .integer("rate-burst", \.rateLimitBurst, 1...100_000_000, "Readings a device may send at once after a quiet period (never below max-batch)."),
            .integer("max-queued-replies", \.maxQueuedReplies, 1...1_000_000, "Replies that may wait for a device that does not read them before it is closed with 1008..."),
            .integer("max-queued-reply-bytes", \.maxQueuedReplyBytes, 1024...(1 << 30), "...or their bytes."),
            .toggle("deflate", \.deflate, "Offer permessage-deflate to clients that ask for it."),
            .integer("deflate-window-bits", \.deflateWindowBits, 9...15, "Largest permessage-deflate window a client may compress with, 9 to 15 bits: smaller costs less memory while a message is inflated."),
            .retired("deflate-memory-level", 1...9, "No effect since the hub stopped compressing what it sends (acks are ~20 bytes); accepted so older configurations still start."),
            // Ingest
            .integer("flush-values", \.flushValues, 1...1_000_000, "Values that start a flush."),
            .integer(
                "flush-interval-ms", \.flushIntervalMs, 0...60_000,
                "Wait at most this long for more values before a flush, in ms; 0 commits as soon as the last commit is done."),
            .integer("queue-values", \.queueValues, 1...100_000_000, "Pending values before devices wait (backpressure)."),
            .integer("overload-wait-ms", \.overloadWaitMs, 1...600_000, "Longest wait for room in a full queue before `overloaded`, in ms."),
            // Readers
            .integer("stream-buffer-events", \.streamBufferEvents, 1...10_000_000, "Events a stream client may fall behind before it is disconnected (it resumes with Last-Event-ID)."),
            .integer("replay-events", \.replayEvents, 1...10_000_000, "Reading events kept for Last-Event-ID resume."),
            .integer("keepalive-seconds", \.keepaliveSeconds, 1...3600, "Seconds between stream keepalives."),
            // Protection
            .integer("auth-fail-limit", \.authFailLimit, 0...1_000_000, "Failed authentications one address may make within auth-fail-window-ms before 429; 0 for no limit."),
            .milliseconds("auth-fail-window-ms", \.authFailWindow, 1...3_600_000, "The window of auth-fail-limit, in ms."),
            .addresses(
                "trusted-proxies", \.trustedProxies,
                "Load balancers (IP addresses, comma-separated) whose X-Forwarded-For names the client (for auth-fail-limit), whose X-Forwarded-Proto: https makes the session cookie Secure, and whose forwarded Host a loopback-only hub answers; unset: none."),
            .milliseconds("request-head-timeout-ms", \.requestHeadTimeout, 100...600_000, "A request head must be complete within this time, in ms..."),
            .integer("max-request-head-bytes", \.maxRequestHeadBytes, 1024...(1 << 20), "...and at most this large (431 beyond)."),
            .milliseconds("token-check-interval-ms", \.tokenCheckInterval, 100...3_600_000, "How often live connections are checked against revoked and expired tokens, in ms."),
            // Storage
            .span("retention", \.retentionMs, "Keep raw readings this long, e.g. 30d."),
            .span("rollup-retention", \.rollupRetentionMs, "Keep minute and hour rollups this long."),
            .bytes("max-db-size", \.maxDatabaseBytes, "Delete the oldest raw data while the database is larger, e.g. 2GB; unset for no cap."),
            .integer("retention-step-rows", \.retentionStepRows, 1...1_000_000, "Rows one retention step may delete."),
            .milliseconds("retention-step-pause-ms", \.retentionStepPause, 0...600_000, "Pause between retention steps, in ms."),
            .milliseconds("retention-check-interval-ms", \.retentionCheckInterval, 1000...86_400_000, "How often retention looks for old data, in ms."),
            // Alerts
            .span("webhook-retry-for", \.webhookRetryForMs, "Retry a webhook delivery this long before it becomes a dead letter, e.g. 24h."),
            .milliseconds("webhook-timeout-ms", \.webhookTimeout, 100...600_000, "Longest a webhook attempt may take, the answer's body included, in ms."),
            .milliseconds("webhook-retry-max-ms", \.webhookRetryMax, 1000...3_600_000, "Longest wait between two attempts of a webhook delivery, in ms (doubling from 1 s)."),
            .integer("webhook-concurrency", \.webhookConcurrency, 1...1000, "Webhook calls in flight at once..."),
            .integer("webhook-concurrency-per-receiver", \.webhookConcurrencyPerReceiver, 1...1000, "...and to one receiver (host and port)."),
            .milliseconds("alert-check-interval-ms", \.alertCheckInterval, 10...60_000, "How often rules are re-read and offline alerts checked, in ms."),
            // Commands
            .integer("max-queued-commands", \.maxQueuedCommands, 1...100_000, "Commands a device may have not yet final; past it a new one gets 409."),
            // Shutdown
            .milliseconds("drain-timeout-ms", \.drainTimeout, 0...600_000, "How long shutdown waits for due acks before closing device sockets, in ms."),
            .milliseconds("close-timeout-ms", \.closeTimeout, 0...600_000, "How long a closing connection waits for the device's answer, in ms."),
        ]
    }

    /// The settings as `telehub serve --help` lists them, with their defaults.
    public static var helpText: String {
        let defaults = HubConfiguration()
        var text = wrapped(
            "Settings: each is also a variable (TELEHUB_FLUSH_VALUES for --flush-values) and a `key = value` line "
                + "of a --config file; flags win over variables, variables over the file.", indent: 0, width: 78) + "\n"
        for setting in all {
            let shown = setting.isSwitch ? "\(setting.flag), --no-\(setting.key)" : "\(setting.flag) <value>"
            let value = setting.value(in: defaults).map { " (default \($0))" } ?? ""
            text += "\n  \(shown)\n" + wrapped(setting.help + value, indent: 8, width: 78)
        }
        return text
    }

    /// Words in lines of at most `width` characters, each indented: the
    /// argument parser would otherwise wrap long lines without the indent.
    static func wrapped(_ text: String, indent: Int, width: Int) -> String {
        var lines: [String] = []
        var line = ""
        for word in text.split(separator: " ") {
            if !line.isEmpty, indent + line.count + 1 + word.count > width {
                lines.append(line)
                line = ""
            }
            line += (line.isEmpty ? "" : " ") + word
        }
        lines.append(line)
        let margin = String(repeating: " ", count: indent)
        return lines.map { margin + $0 }.joined(separator: "\n")
    }

    /// The setting with this key.
    public static func named(_ key: String) -> Setting? {
        all.first { $0.key == key }
    }

    /// The known key closest to a mistyped one, for "did you mean".
    static func closest(to key: String) -> String? {
        let ranked = all.map { ($0.key, EditDistance.between($0.key, key)) }.min { $0.1 < $1.1 }
        return ranked.flatMap { $0.1 <= max(2, key.count / 4) ? $0.0 : nil }
    }
}

/// Levenshtein distance, for suggesting a setting's key.
enum EditDistance {
    static func between(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8.prefix(64)), b = Array(b.utf8.prefix(64))
        var previous = Array(0...b.count)
        for i in 1...max(1, a.count) where !a.isEmpty {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in stride(from: 1, through: b.count, by: 1) {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return a.isEmpty ? b.count : previous[b.count]
    }
}
