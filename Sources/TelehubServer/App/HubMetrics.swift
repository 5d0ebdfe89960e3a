import CoreMetrics
import Prometheus
import Synchronization
import TelehubCore

/// The hub's counters, exported at `/metrics` in Prometheus text. Each hub
/// owns its registry, so several hubs in one process (tests) never share
/// or double-register metrics.
final class HubMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let factory: PrometheusMetricsFactory

    let connections: CoreMetrics.Meter
    let messages: CoreMetrics.Counter
    let values: CoreMetrics.Counter
    let flushValues: CoreMetrics.Recorder
    let commitLatency: CoreMetrics.Timer
    let queueValues: CoreMetrics.Meter
    let streamClients: CoreMetrics.Meter
    let eventsDropped: CoreMetrics.Counter
    let retentionRawCutoff: CoreMetrics.Meter
    let retentionDeleted: CoreMetrics.Counter
    let sizeCapDeleted: CoreMetrics.Counter
    let storageBytes: CoreMetrics.Meter
    let authFailures: CoreMetrics.Counter
    /// Device connections closed because they did not read their replies.
    let unreadRepliesClosed: CoreMetrics.Counter
    /// Device connections refused with 503: every descriptor was in use.
    let connectionsRefused: CoreMetrics.Counter
    /// Connections closed because their request head was late or too large.
    let requestHeadsRefused: CoreMetrics.Counter
    /// Requests refused for naming another host on a loopback-only hub (421).
    let requestsMisdirected: CoreMetrics.Counter
    let alertTransitions: CoreMetrics.Counter
    /// Webhook attempts by outcome: delivered, retry, dead.
    let deliveries: [String: CoreMetrics.Counter]
    let deliveriesPending: CoreMetrics.Meter
    let oldestPendingDeliverySeconds: CoreMetrics.Meter
    /// Transitions folded into a later delivery of the same rule and device
    /// (a flapping alert), over the deliveries the store holds.
    let foldedTransitions: CoreMetrics.Meter
    /// Commands the store holds, by status.
    let commands: [CommandStatus: CoreMetrics.Meter]
    /// Rule states per device, by phase: ok, pending, firing.
    let alertStates: [AlertSeriesState.Phase: CoreMetrics.Meter]
    private let rejections = Mutex<[String: CoreMetrics.Counter]>([:])

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultValueHistogramBuckets = [1, 10, 100, 500, 1000, 2500, 5000, 10000, 25000]
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10),
            .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .seconds(1),
        ]
        self.factory = factory
        connections = CoreMetrics.Meter(label: "telehub_device_connections", factory: factory)
        messages = CoreMetrics.Counter(label: "telehub_messages_ingested_total", factory: factory)
        values = CoreMetrics.Counter(label: "telehub_values_ingested_total", factory: factory)
        flushValues = CoreMetrics.Recorder(label: "telehub_flush_values", aggregate: true, factory: factory)
        commitLatency = CoreMetrics.Timer(label: "telehub_commit_seconds", factory: factory)
        queueValues = CoreMetrics.Meter(label: "telehub_ingest_queue_values", factory: factory)
        streamClients = CoreMetrics.Meter(label: "telehub_stream_clients", factory: factory)
        eventsDropped = CoreMetrics.Counter(label: "telehub_stream_clients_dropped_total", factory: factory)
        retentionRawCutoff = CoreMetrics.Meter(label: "telehub_retention_raw_cutoff_ms", factory: factory)
        retentionDeleted = CoreMetrics.Counter(label: "telehub_retention_deleted_rows_total", factory: factory)
        sizeCapDeleted = CoreMetrics.Counter(label: "telehub_size_cap_deleted_rows_total", factory: factory)
        storageBytes = CoreMetrics.Meter(label: "telehub_storage_bytes", factory: factory)
        authFailures = CoreMetrics.Counter(label: "telehub_auth_failures_total", factory: factory)
        unreadRepliesClosed = CoreMetrics.Counter(label: "telehub_unread_replies_closed_total", factory: factory)
        connectionsRefused = CoreMetrics.Counter(label: "telehub_connections_refused_total", factory: factory)
        requestHeadsRefused = CoreMetrics.Counter(label: "telehub_request_heads_refused_total", factory: factory)
        requestsMisdirected = CoreMetrics.Counter(label: "telehub_requests_misdirected_total", factory: factory)
        alertTransitions = CoreMetrics.Counter(label: "telehub_alert_transitions_total", factory: factory)
        deliveries = Dictionary(uniqueKeysWithValues: ["delivered", "retry", "dead"].map { outcome in
            (outcome, CoreMetrics.Counter(label: "telehub_alert_deliveries_total", dimensions: [("outcome", outcome)], factory: factory))
        })
        deliveriesPending = CoreMetrics.Meter(label: "telehub_alert_deliveries_pending", factory: factory)
        oldestPendingDeliverySeconds = CoreMetrics.Meter(label: "telehub_alert_delivery_oldest_pending_seconds", factory: factory)
        foldedTransitions = CoreMetrics.Meter(label: "telehub_alert_transitions_folded", factory: factory)
        commands = Dictionary(uniqueKeysWithValues: CommandStatus.allCases.map { status in
            (status, CoreMetrics.Meter(label: "telehub_commands", dimensions: [("status", status.rawValue)], factory: factory))
        })
        alertStates = Dictionary(uniqueKeysWithValues: [AlertSeriesState.Phase.ok, .pending, .firing].map { phase in
            (phase, CoreMetrics.Meter(label: "telehub_alert_states", dimensions: [("state", phase.rawValue)], factory: factory))
        })
    }

    /// Counts a refused message by device and reason (an error code, or a close reason).
    func rejected(device: String, reason: String) {
        let key = device + "\u{0}" + reason
        let counter = rejections.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = CoreMetrics.Counter(
                label: "telehub_rejections_total", dimensions: [("device", device), ("reason", reason)], factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment()
    }

    /// The Prometheus text exposition.
    func render() -> String {
        registry.emitToString()
    }
}
