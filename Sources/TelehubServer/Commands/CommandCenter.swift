import TelehubCore
import TelehubStore

/// The hub's side of commands: every change is stored first, then told to
/// the stream (`event: command`), so a status seen is a status kept.
struct CommandCenter: Sendable {
    let store: any CommandStore
    let live: LiveHub
    let maxQueued: Int

    /// - Throws: `CommandStoreError.unknownDevice`, `.queueFull`.
    func enqueue(_ request: CommandRequest, for device: String) async throws -> CommandRecord {
        let now = EpochClock.nowMs()
        let record = try await store.enqueueCommand(NewCommand(device: device, request: request, createdAt: now), maxQueued: maxQueued)
        await live.publishCommands([CommandStreamEvent(record, at: now)])
        return record
    }

    /// - Returns: the command after the change, or nil when nothing changed.
    /// - Throws: `CommandStoreError.final` for a cancel of a final command.
    func change(_ change: CommandChange) async throws -> CommandRecord? {
        let now = EpochClock.nowMs()
        guard let record = try await store.changeCommand(change, now: now) else { return nil }
        await live.publishCommands([CommandStreamEvent(record, at: now)])
        return record
    }

    /// Expires what is due. - Returns: how many.
    func expireDue(limit: Int = 500) async throws -> Int {
        let now = EpochClock.nowMs()
        let expired = try await store.expireCommands(now: now, limit: limit)
        await live.publishCommands(expired.map { CommandStreamEvent($0, at: now) })
        return expired.count
    }

    /// The command once it is final, or as it is when `waitMs` have passed.
    /// It reads the store, so an answer through another hub counts too.
    func waitUntilFinal(_ record: CommandRecord, waitMs: Int64) async throws -> CommandRecord {
        let deadline = ContinuousClock.now + .milliseconds(waitMs)
        var current = record
        while !current.status.isFinal, ContinuousClock.now < deadline {
            try await Task.sleep(for: min(.milliseconds(50), deadline - .now))
            current = try await store.command(id: record.id) ?? current
        }
        return current
    }
}
