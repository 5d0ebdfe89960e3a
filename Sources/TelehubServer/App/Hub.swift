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
    let connections: ConnectionRegistry
    /// Connections against the descriptors the process may open.
    let descriptors: DescriptorBudget
    let ingest: IngestActor
    /// HTTP requests' messages on their way to `ingest`, in batches.
    let submissions: SubmissionGatherer
    let metrics: HubMetrics
    let health: StoreHealth
    let alerts: AlertAnnouncer
    /// The shared stream log's feed, when several hubs may share the store.
    let feed: StreamFeed?
    let leadership: Leadership
    let commands: CommandCenter
    let states: StateCenter

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
        self.connections = ConnectionRegistry()
        self.descriptors = DescriptorBudget()
        let rateLimiter = RateLimiter(
            readingsPerSecond: configuration.rateLimitReadingsPerSecond,
            burst: max(configuration.rateLimitBurst, configuration.limits.maxBatch))
        let live = self.live
        let connections = self.connections
        let shared = store as? any SharedStream
        let leadership = Leadership(leading: shared == nil)
        let feed = shared.map { StreamFeed(store: $0, live: live, connections: connections, leadership: leadership) }
        self.leadership = leadership
        let control = ControlEvents(live: live, feed: feed)
        let commands = CommandCenter(store: store, events: control, connections: connections, maxQueued: configuration.maxQueuedCommands)
        self.commands = commands
        self.states = StateCenter(store: store, events: control, connections: connections)
        self.feed = feed
        self.alerts = AlertAnnouncer(live: live, feed: feed, metrics: metrics, deliveries: Wake())
        self.ingest = IngestActor(
            store: store, live: live, configuration: configuration, metrics: metrics, rateLimiter: rateLimiter,
            health: health, announcer: alerts, feed: feed, commands: commands)
        self.submissions = SubmissionGatherer(ingest: ingest)
    }

    /// Devices from the store, with `online` from the live connections.
    /// - Parameter snapshot: include every alert's state and every device's
    ///   state versions (the stream's snapshot).
    func deviceList(snapshot: Bool = false) async throws -> DeviceList {
        let online = try await onlineDevices()
        var devices = try await store.deviceStatuses()
        for index in devices.indices { devices[index].online = online.contains(devices[index].name) }
        guard snapshot else { return DeviceList(devices: devices) }
        let states = try await store.stateVersions().sorted { $0.key < $1.key }.map { SnapshotState(device: $0.key, $0.value) }
        return DeviceList(devices: devices, alerts: try await store.alertSummaries(), states: states.isEmpty ? nil : states)
    }

    func deviceStatus(named name: String) async throws -> DeviceStatus? {
        guard var status = try await store.deviceStatus(named: name) else { return nil }
        status.online = try await onlineDevices().contains(name)
        return status
    }

    /// Devices connected here, or to any hub on a shared store.
    func onlineDevices() async throws -> Set<String> {
        if let feed { return try await feed.onlineDevices() }
        return connections.onlineDevices()
    }
}
