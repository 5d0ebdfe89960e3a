import TelehubCore
import TelehubStore

/// The running parts of one hub, wired once by `buildApplication` and shared
/// by the routes, the WebSocket handler and the demo fleet.
struct Hub: Sendable {
    let configuration: HubConfiguration
    let store: any TelemetryStore
    let authenticator: Authenticator
    let usage: TokenUsageRecorder
    let live: LiveHub
    let sessions: SessionRegistry
    let ingest: IngestActor
    let metrics: HubMetrics
    let health: StoreHealth

    init(configuration: HubConfiguration, store: any TelemetryStore) {
        self.configuration = configuration
        self.store = store
        self.metrics = HubMetrics()
        self.health = StoreHealth()
        self.usage = TokenUsageRecorder(store: store)
        self.authenticator = Authenticator(
            store: store, usage: usage, sessionReadToken: configuration.sessionReadToken,
            failures: FailedAuthTable(limit: configuration.authFailLimit, windowMs: configuration.authFailWindow.milliseconds))
        self.live = LiveHub(
            replayEvents: configuration.replayEvents, bufferSize: configuration.streamBufferEvents,
            keepaliveInterval: .seconds(configuration.keepaliveSeconds), metrics: metrics)
        self.sessions = SessionRegistry()
        let rateLimiter = RateLimiter(
            readingsPerSecond: configuration.rateLimitReadingsPerSecond,
            burst: max(configuration.rateLimitBurst, configuration.limits.maxBatch))
        self.ingest = IngestActor(
            store: store, hub: live, configuration: configuration, metrics: metrics, rateLimiter: rateLimiter,
            health: health)
    }

    /// Devices from the store, with `online` from the live sessions.
    /// - Parameter alerts: include every alert's state (the stream's snapshot).
    func deviceList(alerts: Bool = false) async throws -> DeviceList {
        let online = sessions.onlineDevices()
        var devices = try await store.deviceStatuses()
        for index in devices.indices { devices[index].online = online.contains(devices[index].name) }
        return DeviceList(devices: devices, alerts: alerts ? try await alertSummaries() : nil)
    }

    /// Each rule's state per device it has seen; a rule that has seen none
    /// is listed once, `ok`. Firing first, then by rule and device.
    func alertSummaries() async throws -> [AlertSummary] {
        let rules = try await store.alertRules()
        let states = Dictionary(grouping: try await store.alertStates(), by: \.ruleID)
        let displays = MetricDisplayBook(try await store.metricDisplays())
        func summary(_ rule: AlertRule, _ device: String?, _ state: AlertSeriesState?) -> AlertSummary {
            let shown = rule.metric.map { displays.display(device: device ?? rule.device ?? "", metric: $0) }
            return AlertSummary(rule: rule, device: device, state: state, unit: shown?.unit, label: shown?.label)
        }
        var summaries: [AlertSummary] = []
        for rule in rules {
            let seen = states[rule.id] ?? []
            if seen.isEmpty { summaries.append(summary(rule, nil, nil)) }
            for entry in seen { summaries.append(summary(rule, entry.device, entry.state)) }
        }
        let order: [AlertSeriesState.Phase: Int] = [.firing: 0, .pending: 1, .ok: 2]
        return summaries.enumerated().sorted { lhs, rhs in
            (order[lhs.element.state] ?? 3, lhs.offset) < (order[rhs.element.state] ?? 3, rhs.offset)
        }.map(\.element)
    }

    func deviceStatus(named name: String) async throws -> DeviceStatus? {
        guard var status = try await store.deviceStatus(named: name) else { return nil }
        status.online = sessions.onlineDevices().contains(name)
        return status
    }
}
