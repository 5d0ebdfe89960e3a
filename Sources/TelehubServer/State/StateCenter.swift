import Synchronization
import TelehubCore
import TelehubStore

/// The hub's side of desired state: a change is stored, told to the stream,
/// and sent to the device when it is connected here; changes made elsewhere
/// (another hub, the CLI) are found by `CommandService` and sent the same way.
final class StateCenter: Sendable {
    let store: any StateStore
    let events: ControlEvents
    let connections: ConnectionRegistry
    /// The desired version last written to each device's connection here.
    private let sent = Mutex<[String: Int64]>([:])

    init(store: any StateStore, events: ControlEvents, connections: ConnectionRegistry) {
        self.store = store
        self.events = events
        self.connections = connections
    }

    /// - Throws: `StateStoreError`.
    func changeDesired(device: String, _ change: DesiredChange, ifVersion: Int64?) async throws -> DeviceState {
        let now = EpochClock.nowMs()
        let state = try await store.changeDesired(device: device, change, ifVersion: ifVersion, now: now)
        await events.states([StateStreamEvent(device: device, state: state, at: now)])
        send(state.desired, to: device)
        return state
    }

    /// A device connected: it gets the current desired object, unless it never had one.
    func connected(_ device: String, through write: @escaping @Sendable (String) -> Bool) async throws {
        sent.withLock { $0[device] = nil }
        guard let state = try await store.deviceState(device: device), state.desired.version > 0 else { return }
        send(state.desired, to: device, through: write)
    }

    /// Sends devices connected here the desired objects that changed elsewhere.
    func catchUp(online: Set<String>) async throws {
        guard !online.isEmpty else { return }
        let versions = try await store.desiredVersions(devices: online)
        let behind = sent.withLock { sent in versions.filter { name, version in (sent[name] ?? 0) < version }.map(\.key) }
        for device in behind {
            if let state = try await store.deviceState(device: device) { send(state.desired, to: device) }
        }
    }

    /// Never an older object after a newer one: only a higher version than the last sent goes out.
    private func send(_ desired: VersionedState, to device: String, through write: ((String) -> Bool)? = nil) {
        guard let write = write ?? connections.sender(device: device) else { return }
        let newer = sent.withLock { sent in
            guard (sent[device] ?? 0) < desired.version else { return false }
            sent[device] = desired.version
            return true
        }
        if newer { _ = write(DesiredMessage(desired).json) }
    }

    func disconnected(_ device: String) {
        sent.withLock { $0[device] = nil }
    }
}
