import Foundation
import Testing
import TelehubCore
import TelehubStore

/// Commands, a durable queue per device (contract v1.2), on every store.
@Suite struct CommandStoreTests {
    private static let t0: Int64 = 1_800_000_000_000

    private func command(_ device: String, _ name: String = "reboot", priority: Int = 5, ttl: Int64 = 60_000, at: Int64 = t0)
        -> NewCommand
    {
        NewCommand(device: device, request: CommandRequest(name: name, args: .object(["n": .number(1)]), ttlMs: ttl, priority: priority), createdAt: at)
    }

    @Test(arguments: StoreKind.available) func acceptedCommandsAreStoredAndSurviveReopening(_ kind: StoreKind) async throws {
        let location = try StoreLocation(kind)
        var store: (any TelemetryStore)? = try await location.open()
        _ = try await store!.ensureDevice(named: "gh")
        let accepted = try await store!.enqueueCommand(command("gh", "set-interval"), maxQueued: 10)
        #expect(accepted.status == .queued && accepted.attempts == 0 && accepted.expiresAt == Self.t0 + 60_000)
        #expect(accepted.id.hasPrefix("cmd_"))
        store = nil
        let reopened = try await location.open()
        #expect(try await reopened.command(id: accepted.id) == accepted)
        #expect(try await reopened.command(id: "cmd_nothing") == nil)
        await #expect(throws: CommandStoreError.unknownDevice("nobody")) {
            try await reopened.enqueueCommand(command("nobody"), maxQueued: 10)
        }
    }

    /// Past the limit of commands not final, a new one is refused and
    /// nothing already queued is dropped; a final one makes room.
    @Test(arguments: StoreKind.available) func aFullQueueRefusesAndDropsNothing(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        _ = try await store.ensureDevice(named: "gh")
        var ids: [String] = []
        for _ in 0..<3 { ids.append(try await store.enqueueCommand(command("gh"), maxQueued: 3).id) }
        await #expect(throws: CommandStoreError.queueFull(limit: 3)) { try await store.enqueueCommand(command("gh"), maxQueued: 3) }
        #expect(Set(try await store.commands(device: "gh", statuses: [], limit: 10).map(\.id)) == Set(ids))
        _ = try await store.changeCommand(CommandChange(id: ids[0], device: nil, event: .cancel), now: Self.t0)
        _ = try await store.enqueueCommand(command("gh"), maxQueued: 3)
        _ = try await store.ensureDevice(named: "other")
        _ = try await store.enqueueCommand(command("other"), maxQueued: 3)  // the limit is per device
    }

    /// Highest priority first, then oldest; at most `window` sent and not
    /// delivered; a new connection gets the undelivered ones again, same ids.
    @Test(arguments: StoreKind.available) func sendingFollowsPriorityTheWindowAndResends(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        _ = try await store.ensureDevice(named: "gh")
        let low = try await store.enqueueCommand(command("gh", "low", priority: 1), maxQueued: 10)
        let first = try await store.enqueueCommand(command("gh", "first"), maxQueued: 10)
        let second = try await store.enqueueCommand(command("gh", "second"), maxQueued: 10)
        let high = try await store.enqueueCommand(command("gh", "high", priority: 9), maxQueued: 10)
        let sent = try await store.takeCommandsToSend(device: "gh", window: 2, resend: true, now: Self.t0)
        #expect(sent.map(\.id) == [high.id, first.id])
        #expect(sent.allSatisfy { $0.status == .sent && $0.attempts == 1 })
        #expect(try await store.takeCommandsToSend(device: "gh", window: 2, resend: false, now: Self.t0).isEmpty)  // window full
        _ = try await store.changeCommand(CommandChange(id: high.id, device: "gh", event: .ack), now: Self.t0 + 5)
        #expect(try await store.takeCommandsToSend(device: "gh", window: 2, resend: false, now: Self.t0).map(\.id) == [second.id])
        // The connection drops; the next one gets what was sent and not delivered, again.
        let again = try await store.takeCommandsToSend(device: "gh", window: 2, resend: true, now: Self.t0 + 10)
        #expect(again.map(\.id) == [first.id, second.id])
        #expect(again.map(\.attempts) == [2, 2])
        #expect(try await store.command(id: high.id)?.status == .delivered)
        #expect(try await store.command(id: low.id)?.status == .queued)
        #expect(try await store.devicesWithQueuedCommands() == ["gh"])
        _ = try await store.changeCommand(CommandChange(id: low.id, device: nil, event: .cancel), now: Self.t0)
        #expect(try await store.devicesWithQueuedCommands().isEmpty)
    }

    @Test(arguments: StoreKind.available) func devicesAnswerOnlyTheirOwnAndRepeatsChangeNothing(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        _ = try await store.ensureDevice(named: "gh")
        _ = try await store.ensureDevice(named: "intruder")
        let one = try await store.enqueueCommand(command("gh"), maxQueued: 10)
        // An ack before the send is a confusion: nothing changes.
        #expect(try await store.changeCommand(CommandChange(id: one.id, device: "gh", event: .ack), now: Self.t0) == nil)
        _ = try await store.takeCommandsToSend(device: "gh", window: 8, resend: true, now: Self.t0)
        #expect(try await store.changeCommand(CommandChange(id: one.id, device: "intruder", event: .ack), now: Self.t0) == nil)
        let acked = try #require(try await store.changeCommand(CommandChange(id: one.id, device: "gh", event: .ack), now: Self.t0 + 7))
        #expect(acked.status == .delivered && acked.deliveredAt == Self.t0 + 7)
        #expect(try await store.changeCommand(CommandChange(id: one.id, device: "gh", event: .ack), now: Self.t0 + 9) == nil)
        let done = try #require(try await store.changeCommand(
            CommandChange(id: one.id, device: "gh", event: .result(succeeded: true), result: .object(["applied": .bool(true)])),
            now: Self.t0 + 20))
        #expect(done.status == .succeeded && done.completedAt == Self.t0 + 20 && done.deliveredAt == Self.t0 + 7)
        #expect(done.result == .object(["applied": .bool(true)]))
        #expect(try await store.changeCommand(
            CommandChange(id: one.id, device: "gh", event: .result(succeeded: false), message: "late"), now: Self.t0 + 30) == nil)
        #expect(try await store.command(id: one.id) == done)
        await #expect(throws: CommandStoreError.final(done)) {
            try await store.changeCommand(CommandChange(id: one.id, device: nil, event: .cancel), now: Self.t0 + 40)
        }
        // A result without an ack implies it.
        let two = try await store.enqueueCommand(command("gh"), maxQueued: 10)
        _ = try await store.takeCommandsToSend(device: "gh", window: 8, resend: false, now: Self.t0)
        let failed = try await store.changeCommand(
            CommandChange(id: two.id, device: "gh", event: .result(succeeded: false), message: "sensor busy"), now: Self.t0 + 50)
        #expect(failed?.status == .failed && failed?.deliveredAt == Self.t0 + 50 && failed?.message == "sensor busy")
    }

    /// A command expires on time whoever looks; an expired one is never sent
    /// and a result after that is ignored.
    @Test(arguments: StoreKind.available) func commandsExpireOnTimeAndStayExpired(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        _ = try await store.ensureDevice(named: "gh")
        let soon = try await store.enqueueCommand(command("gh", ttl: 1000), maxQueued: 10)
        let later = try await store.enqueueCommand(command("gh", ttl: 5000), maxQueued: 10)
        #expect(try await store.nextCommandExpiry() == Self.t0 + 1000)
        #expect(try await store.expireCommands(now: Self.t0 + 999, limit: 10).isEmpty)
        #expect(try await store.takeCommandsToSend(device: "gh", window: 8, resend: true, now: Self.t0 + 1000).map(\.id) == [later.id])
        let expired = try await store.expireCommands(now: Self.t0 + 1000, limit: 10)
        #expect(expired.map(\.id) == [soon.id] && expired.first?.status == .expired && expired.first?.completedAt == Self.t0 + 1000)
        #expect(try await store.nextCommandExpiry() == Self.t0 + 5000)
        _ = try await store.expireCommands(now: Self.t0 + 5000, limit: 10)
        #expect(try await store.changeCommand(CommandChange(id: later.id, device: "gh", event: .result(succeeded: true)), now: Self.t0 + 6000) == nil)
        #expect(try await store.command(id: later.id)?.status == .expired)
        #expect(try await store.nextCommandExpiry() == nil)
        #expect(try await store.commandCounts() == [.expired: 2])
    }

    @Test(arguments: StoreKind.available) func listsAreNewestFirstAndFilteredAndADeletedDeviceTakesItsCommands(_ kind: StoreKind) async throws {
        let store = try await freshStore(kind)
        _ = try await store.ensureDevice(named: "a")
        _ = try await store.ensureDevice(named: "b")
        let a1 = try await store.enqueueCommand(command("a"), maxQueued: 10)
        let b1 = try await store.enqueueCommand(command("b"), maxQueued: 10)
        let a2 = try await store.enqueueCommand(command("a"), maxQueued: 10)
        _ = try await store.changeCommand(CommandChange(id: a2.id, device: nil, event: .cancel), now: Self.t0)
        #expect(try await store.commands(device: nil, statuses: [], limit: 10).map(\.id) == [a2.id, b1.id, a1.id])
        #expect(try await store.commands(device: "a", statuses: [], limit: 10).map(\.id) == [a2.id, a1.id])
        #expect(try await store.commands(device: "a", statuses: [.queued, .sent], limit: 10).map(\.id) == [a1.id])
        #expect(try await store.commands(device: nil, statuses: [], limit: 1).map(\.id) == [a2.id])
        #expect(try await store.commandCounts() == [.queued: 2, .canceled: 1])
        #expect(try await store.deleteDevice(named: "a"))
        #expect(try await store.commands(device: nil, statuses: [], limit: 10).map(\.id) == [b1.id])
        #expect(try await store.command(id: a1.id) == nil)
    }
}
