import NIOCore
import NIOHTTP1
import Synchronization
import TelehubCore
import TelehubStore
import Logging

/// What a device connection starts from, settled before the upgrade is answered.
struct DeviceOpening: Sendable {
    let tokenID: Int64
    let device: String
    let deviceID: Int64
    /// For `hello`: the highest `seq` of the device that is stored.
    let lastSeq: Int64
    /// permessage-deflate, when the device offered it and the hub allows it.
    let inflate: InflateNegotiation?
}

/// Everything the hub's device connections share: the hub, and for each event
/// loop its `LoopConnections`.
final class DeviceConnections: Sendable {
    let hub: Hub
    private let loops = Mutex<[ObjectIdentifier: NIOLoopBound<LoopConnections>]>([:])
    /// Openings run at most this many at once; the rest wait their turn
    /// (their devices' frames wait unread). 19,000 devices reconnecting
    /// after a restart must not become 19,000 tasks waiting on the store.
    static let openingsAtOnce = 64
    private let openings = Mutex(Openings())

    private struct Openings {
        var running = 0
        var waiting: [@Sendable () async -> Void] = []
        var next = 0
    }

    init(hub: Hub) {
        self.hub = hub
    }

    /// The loop's shared parts; call on `eventLoop`.
    func loopConnections(on eventLoop: any EventLoop) -> LoopConnections {
        let key = ObjectIdentifier(eventLoop)
        if let known = loops.withLock({ $0[key] }) { return known.value }
        let created = LoopConnections(
            eventLoop: eventLoop, ingest: hub.ingest, heartbeat: .seconds(Int64(hub.configuration.heartbeatSeconds)))
        loops.withLock { $0[key] = NIOLoopBound(created, eventLoop: eventLoop) }
        return created
    }

    /// Runs a connection's opening (`announce`) now, or once fewer than
    /// `openingsAtOnce` are running.
    func open(_ work: @escaping @Sendable () async -> Void) {
        let now = openings.withLock { openings -> Bool in
            guard openings.running < Self.openingsAtOnce else {
                openings.waiting.append(work)
                return false
            }
            openings.running += 1
            return true
        }
        if now { run(work) }
    }

    private func run(_ work: @escaping @Sendable () async -> Void) {
        Task {
            await work()
            let next = openings.withLock { openings -> (@Sendable () async -> Void)? in
                guard openings.next < openings.waiting.count else {
                    openings.running -= 1
                    openings.waiting = []
                    openings.next = 0
                    return nil
                }
                defer { openings.next += 1 }
                return openings.waiting[openings.next]
            }
            if let next { run(next) }
        }
    }

    /// What the connection of an admitted upgrade starts from, with the
    /// extension it agreed to; nil when the device is gone meanwhile.
    func opening(for identity: TokenIdentity, head: HTTPRequestHead) async throws -> DeviceOpening? {
        guard let deviceID = identity.deviceID, let device = identity.deviceName else { return nil }
        let lastSeq = try await hub.store.lastSeq(deviceID: deviceID)
        let inflate =
            hub.configuration.deflate
            ? InflateNegotiation(
                requestHeaders: head.headers["sec-websocket-extensions"],
                windowBits: hub.configuration.deflateWindowBits)
            : nil
        return DeviceOpening(tokenID: identity.tokenID, device: device, deviceID: deviceID, lastSeq: lastSeq, inflate: inflate)
    }

    /// What a new connection owes the rest of the hub and the device: holds
    /// lifted, presence, its desired state and waiting commands.
    func announce(
        _ opening: DeviceOpening, connection id: Int, cameOnline: Bool, send: @escaping @Sendable (String) -> Bool
    ) async {
        await hub.ingest.connectionStarted(deviceID: opening.deviceID, lastSeq: opening.lastSeq)
        if let feed = hub.feed {
            await feed.deviceConnected(opening.device, deviceID: opening.deviceID, connection: id)
        } else if cameOnline {
            await hub.live.publishPresence(device: opening.device, online: true, at: EpochClock.nowMs())
        }
        do {
            try await hub.states.connected(opening.device, through: send)
            try await hub.commands.opened(opening.device, through: send)
        } catch {
            Logger(label: "telehub.commands").error("could not send \(opening.device) its commands: \(error)")
        }
        hub.connections.markReady(id)
        try? await hub.commands.deliver(to: opening.device)  // what was queued meanwhile (else CommandService's next look)
    }

    /// The last connection of a device on this hub closed: it is offline
    /// (on a shared store, unless a newer connection holds it elsewhere).
    func announceLeaving(_ opening: DeviceOpening, connection id: Int) async {
        if let feed = hub.feed {
            await feed.deviceDisconnected(opening.device, deviceID: opening.deviceID, connection: id)
        } else {
            await hub.live.publishPresence(device: opening.device, online: false, at: EpochClock.nowMs())
        }
    }
}
