import TelehubCore
import TelehubStore

/// The hub's side of commands: every change is stored first, then told to
/// the stream (`event: command`), so a status seen is a status kept.
struct CommandCenter: Sendable {
    let store: any CommandStore
    let events: ControlEvents
    let connections: ConnectionRegistry
    let maxQueued: Int
    let waiters = CommandWaiters()
    /// Commands sent and not yet delivered per device at most (the contract's 8).
    static let window = 8

    /// - Throws: `CommandStoreError.unknownDevice`, `.queueFull`.
    func enqueue(_ request: CommandRequest, for device: String) async throws -> CommandRecord {
        let now = EpochClock.nowMs()
        let record = try await store.enqueueCommand(NewCommand(device: device, request: request, createdAt: now), maxQueued: maxQueued)
        await events.commands([CommandStreamEvent(record, at: now)])
        try await deliver(to: device)
        return record
    }

    /// Writes to the device's connection on this hub, if it has a ready one,
    /// what may go now: queued commands until the window is full. Each is
    /// marked `sent` in the store before it is written.
    func deliver(to device: String) async throws {
        guard let send = connections.sender(device: device) else { return }
        try await deliver(to: device, resend: false, through: send)
    }

    /// A new connection, before it is ready: what was sent and never
    /// delivered first (on earlier connections), then queued commands.
    func opened(_ device: String, through send: @escaping @Sendable (String) -> Bool) async throws {
        try await deliver(to: device, resend: true, through: send)
    }

    private func deliver(to device: String, resend: Bool, through send: @Sendable (String) -> Bool) async throws {
        let now = EpochClock.nowMs()
        let records = try await store.takeCommandsToSend(device: device, window: Self.window, resend: resend, now: now)
        // A command written again keeps its status: only a first send is a change.
        await events.commands(records.filter { $0.attempts == 1 }.map { CommandStreamEvent($0, at: now) })
        for record in records where !send(CommandMessage(record).json) { break }
    }

    /// For a device on HTTP: what may go now, marked sent, to put in the
    /// answer. A device that never acknowledges gets them again the next time.
    func take(for device: String) async throws -> [CommandRecord] {
        let now = EpochClock.nowMs()
        let records = try await store.takeCommandsToSend(device: device, window: Self.window, resend: true, now: now)
        await events.commands(records.filter { $0.attempts == 1 }.map { CommandStreamEvent($0, at: now) })
        return records
    }

    /// The long poll: waiting commands as soon as there are any, or none after `waitMs`.
    func waitForCommands(for device: String, waitMs: Int64) async throws -> [CommandRecord] {
        let deadline = ContinuousClock.now + .milliseconds(waitMs)
        while true {
            let records = try await take(for: device)
            if !records.isEmpty || ContinuousClock.now >= deadline { return records }
            try await Task.sleep(for: min(.milliseconds(100), deadline - .now))
        }
    }

    /// After a commit stored devices' answers: the stream hears of them, and
    /// each device gets what its freed window lets through.
    func answered(_ records: [CommandRecord]) async {
        let now = EpochClock.nowMs()
        waiters.changed(records.map(\.id))
        await events.commands(records.map { CommandStreamEvent($0, at: now) })
        for device in Set(records.map(\.device)) { try? await deliver(to: device) }
    }

    /// - Returns: the command after the change, or nil when nothing changed.
    /// - Throws: `CommandStoreError.final` for a cancel of a final command.
    func change(_ change: CommandChange) async throws -> CommandRecord? {
        let now = EpochClock.nowMs()
        guard let record = try await store.changeCommand(change, now: now) else { return nil }
        waiters.changed([record.id])
        await events.commands([CommandStreamEvent(record, at: now)])
        return record
    }

    /// Expires what is due. - Returns: how many.
    func expireDue(limit: Int = 500) async throws -> Int {
        let now = EpochClock.nowMs()
        // A read first: an idle hub must not take the write lock four times a
        // second (it queued commits and /healthz behind a locked file, and wears flash).
        guard let next = try await store.nextCommandExpiry(), next <= now else { return 0 }
        let expired = try await store.expireCommands(now: now, limit: limit)
        waiters.changed(expired.map(\.id))
        await events.commands(expired.map { CommandStreamEvent($0, at: now) })
        return expired.count
    }

    /// The command once it is final, or as it is when `waitMs` have passed:
    /// woken by a change stored here, else reading the store every 100 ms,
    /// so an answer through another hub counts too.
    func waitUntilFinal(_ record: CommandRecord, waitMs: Int64) async throws -> CommandRecord {
        let deadline = ContinuousClock.now + .milliseconds(waitMs)
        let (token, wake) = waiters.register(record.id)
        defer { waiters.unregister(record.id, token: token) }
        var current = try await store.command(id: record.id) ?? record
        while !current.status.isFinal, ContinuousClock.now < deadline {
            await wake.wait(until: min(.now + .milliseconds(100), deadline))
            try Task.checkCancellation()
            current = try await store.command(id: record.id) ?? current
        }
        return current
    }
}
