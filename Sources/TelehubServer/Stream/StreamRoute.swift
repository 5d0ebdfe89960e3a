import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ServiceLifecycle
import TelehubCore

/// `GET /v1/stream`: Server-Sent Events of committed readings and presence.
///
/// A new stream starts with a `snapshot` taken after subscribing, so nothing
/// committed in between is missed; a resumed stream replays from the hub's
/// window, or sends `reset` and a fresh snapshot when the id is too old.
struct StreamRoute {
    let hub: Hub

    func register(on router: Router<HubRequestContext>) {
        router.get("/v1/stream") { request, context in
            let identity = try await hub.requireReader(request, context)
            let parameters = try QueryDecoding.decode(StreamParameters.self, request, context)
            let filter = StreamFilter(parameters)
            let channel = context.channel
            let lastEventID = Self.lastEventID(request, parameters)
            let subscription = await hub.live.subscribe(after: lastEventID) {
                channel.close(promise: nil)
            }

            let snapshot = subscription.reset || lastEventID == nil ? try await hub.deviceList(snapshot: true) : nil
            let connections = hub.connections
            let body = ResponseBody { writer in
                // Registered so that revoking the token ends this stream.
                let (connectionID, _) = connections.register(kind: .stream, tokenID: identity.tokenID) { _ in subscription.finish() }
                defer { connections.unregister(connectionID) }
                try await writer.write(ByteBuffer(string: "retry: 2000\n\n"))
                if subscription.reset {
                    try await writer.write(ByteBuffer(string: SSEFrame.event("reset", data: "{}")))
                }
                if let snapshot {
                    try await writer.write(ByteBuffer(string: filter.snapshotFrame(snapshot, position: subscription.position)))
                }
                let missed = filter.frames(for: subscription.replay)
                if !missed.isEmpty { try await writer.write(ByteBuffer(string: missed)) }
                // A client that leaves while the stream is quiet ends its subscription at once,
                // not at the next write.
                try await request.body.consumeWithInboundCloseHandler { _ in
                    for await batch in subscription.batches.cancelOnGracefulShutdown() {
                        if let bytes = filter.bytes(for: batch) { try await writer.write(bytes) }
                    }
                } onInboundClosed: {
                    subscription.finish()
                }
                try await writer.finish(nil)
            }
            return Response(
                status: .ok,
                headers: [.contentType: "text/event-stream", .cacheControl: "no-store", HTTPField.Name("X-Accel-Buffering")!: "no"],
                body: body)
        }
    }

    private static func lastEventID(_ request: Request, _ parameters: StreamParameters) -> Int64? {
        let header = HTTPField.Name("Last-Event-ID")!
        return (request.headers[header] ?? parameters.lastEventId).flatMap(StreamPosition.parse)
    }
}

/// The `device` and `metric` filters of one stream.
struct StreamFilter: Sendable {
    var devices: Set<String>?
    var metrics: Set<String>?

    init(_ parameters: StreamParameters) {
        devices = StreamParameters.list(parameters.device)
        metrics = StreamParameters.list(parameters.metric)
    }

    var isEmpty: Bool { devices == nil && metrics == nil }

    /// What to write for `batch`: its shared bytes when the filter keeps every
    /// event whole (no filter, or a device filter that matches them all),
    /// else the kept frames; nil when it keeps nothing.
    func bytes(for batch: LiveBatch) -> ByteBuffer? {
        if isEmpty { return batch.buffer }
        var whole = true
        var kept: [String] = []
        kept.reserveCapacity(batch.events.count)
        for (event, written) in zip(batch.events, batch.eventFrames) {
            guard let frame = frame(for: event, written: written) else {
                whole = false
                continue
            }
            if metrics != nil, case .reading = event.kind { whole = false }
            kept.append(frame)
        }
        if whole { return batch.buffer }
        return kept.isEmpty ? nil : ByteBuffer(string: kept.joined())
    }

    /// The frames of the events the filter lets through, joined.
    func frames(for events: [LiveEvent]) -> String {
        events.compactMap { frame(for: $0) }.joined()
    }

    /// The frame to send for `event`, or nil when the filter excludes it.
    /// - Parameter written: the event's frame when the batch wrote it already.
    func frame(for event: LiveEvent, written: String? = nil) -> String? {
        switch event.kind {
        case .keepalive:
            return written ?? event.frame
        case .presence(let device, _), .alert(let device), .command(let device), .state(let device):
            return accepts(device: device) ? written ?? event.frame : nil
        case .reading(let device, let reading):
            guard accepts(device: device) else { return nil }
            guard let metrics, let id = event.id else { return written ?? event.frame }
            let kept = reading.metrics.filter { metrics.contains($0.name) }
            guard !kept.isEmpty else { return nil }
            return SSEFrame.event("reading", id: id, data: ReadingPayload(device: device, reading: reading).json(metrics: kept))
        }
    }

    func snapshotFrame(_ list: DeviceList, position: Int64) -> String {
        var list = list
        list.devices = list.devices.filter { accepts(device: $0.name) }
        list.alerts = list.alerts?.filter { $0.device.map(accepts(device:)) ?? true }
        if let metrics {
            for index in list.devices.indices { list.devices[index].metrics = list.devices[index].metrics.filter { metrics.contains($0.key) } }
        }
        let data = JSONEncoder.wireText(list)
        return SSEFrame.event("snapshot", id: position, data: data)
    }

    private func accepts(device: String) -> Bool {
        devices?.contains(device) ?? true
    }
}
