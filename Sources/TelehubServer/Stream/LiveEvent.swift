import Foundation
public import NIOCore
public import TelehubCore

/// One event of the live stream. A reading's SSE text is written when a
/// subscriber needs it, once per batch for all of them (`LiveBatch`), not
/// when it is published: most commits have nobody listening, and encoding
/// every reading cost a tenth of the hub's ingest CPU (`telehub bench --ingest`).
public struct LiveEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case reading(device: String, reading: Reading)
        case presence(device: String, online: Bool)
        case alert(device: String)
        case command(device: String)
        case state(device: String)
        case keepalive
    }

    /// Stream position; only reading events carry one.
    public let id: Int64?
    public let kind: Kind
    /// The frame of a presence or keepalive event, written at once (they are rare).
    private let written: String?

    /// The complete SSE frame, ending with the blank line.
    public var frame: String {
        if let written { return written }
        guard case .reading(let device, let reading) = kind, let id else { return "" }
        return SSEFrame.event("reading", id: id, data: ReadingPayload(device: device, reading: reading).json)
    }

    static func reading(id: Int64, device: String, reading: Reading) -> LiveEvent {
        LiveEvent(id: id, kind: .reading(device: device, reading: reading), written: nil)
    }

    static func presence(device: String, online: Bool, ts: Int64) -> LiveEvent {
        let data = JSONEncoder.wireText(PresenceEvent(device: device, online: online, ts: ts))
        return LiveEvent(id: nil, kind: .presence(device: device, online: online), written: SSEFrame.event("presence", data: data))
    }

    static func alert(_ event: AlertStreamEvent) -> LiveEvent {
        LiveEvent(id: nil, kind: .alert(device: event.device), written: SSEFrame.event("alert", data: JSONEncoder.wireText(event)))
    }

    static func command(_ event: CommandStreamEvent) -> LiveEvent {
        LiveEvent(id: nil, kind: .command(device: event.device), written: SSEFrame.event("command", data: JSONEncoder.wireText(event)))
    }

    static func state(_ event: StateStreamEvent) -> LiveEvent {
        LiveEvent(id: nil, kind: .state(device: event.device), written: SSEFrame.event("state", data: JSONEncoder.wireText(event)))
    }

    static let keepalive = LiveEvent(id: nil, kind: .keepalive, written: ": keepalive\n\n")
}

/// Events published together (a flush's readings, or one presence change or
/// keepalive), with their SSE text written once for every subscriber.
public struct LiveBatch: Sendable {
    public let events: [LiveEvent]
    /// The frame of each event, in order.
    public let eventFrames: [String]
    /// Every frame joined, as bytes, made once: every subscriber writes this
    /// same buffer (copy on write, and nobody writes to it), so a fan-out to
    /// a thousand dashboards copies nothing per dashboard.
    public let buffer: ByteBuffer

    init(_ events: [LiveEvent]) {
        self.events = events
        self.eventFrames = events.map(\.frame)
        var buffer = ByteBuffer()
        for frame in eventFrames { buffer.writeString(frame) }
        self.buffer = buffer
    }
}

/// The `data` of a reading event: `{"device":…,"ts":…,"metrics":{…}}`.
struct ReadingPayload {
    var device: String
    var reading: Reading

    var json: String { json(metrics: reading.metrics) }

    /// The payload restricted to some metrics, for subscribers with a `metric` filter.
    func json(metrics: [MetricValue]) -> String {
        ReadingEvent.json(device: device, ts: reading.ts, metrics: metrics)
    }
}

/// Server-Sent Events framing.
enum SSEFrame {
    static func event(_ name: String, id: Int64? = nil, data: String) -> String {
        var frame = id.map { "id: \($0)\n" } ?? ""
        frame += "event: \(name)\ndata: \(data)\n\n"
        return frame
    }
}
