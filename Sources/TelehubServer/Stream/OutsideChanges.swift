public import TelehubCore
import TelehubStore

/// Changes made outside any hub (the CLI writing the database), told to the
/// hubs' streams when they share the store's log (PostgreSQL): every hub
/// reads the log and publishes the events as if one of its own had made them.
/// A store without a log has no running hub to tell; its hubs find the
/// change itself (a command to send, a desired version) by looking.
public enum OutsideChanges {
    public static func announce(commands: [CommandRecord], in store: some Sendable) async {
        guard let shared = store as? any SharedStream, !commands.isEmpty else { return }
        let now = EpochClock.nowMs()
        await log(LoggedEvents(commands: commands.map { CommandStreamEvent($0, at: now) }), in: shared)
    }

    public static func announce(state: DeviceState, of device: String, in store: some Sendable) async {
        guard let shared = store as? any SharedStream else { return }
        await log(LoggedEvents(states: [StateStreamEvent(device: device, state: state, at: EpochClock.nowMs())]), in: shared)
    }

    /// Best effort: the change is stored either way; only the stream would miss it.
    private static func log(_ events: LoggedEvents, in store: any SharedStream) async {
        _ = try? await store.appendStream(PendingStreamEntry(positions: events.positions, instance: "cli", body: events.body))
    }
}
