import TelehubCore

/// Where command and state changes are told: every hub's stream. On a
/// shared store they go through the shared log, as alerts do, so a status
/// changed through one hub (a device answering there) shows on the stream of
/// every other; alone, straight to this hub's stream.
struct ControlEvents: Sendable {
    let live: LiveHub
    let feed: StreamFeed?

    func commands(_ events: [CommandStreamEvent]) async {
        guard !events.isEmpty else { return }
        if let feed { await feed.announce(commands: events) } else { await live.publishCommands(events) }
    }

    func states(_ events: [StateStreamEvent]) async {
        guard !events.isEmpty else { return }
        if let feed { await feed.announce(states: events) } else { await live.publishStates(events) }
    }
}
