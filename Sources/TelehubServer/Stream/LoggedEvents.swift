import Foundation
import TelehubCore

/// The live events of one shared-log entry. The body is a JSON object whose
/// members are all optional, so kinds can be added without a migration:
///
///     {"readings":[{"device":…,"ts":…,"metrics":{…}},…],
///      "presence":[{"device":…,"online":true,"ts":…}],
///      "takeover":[{"device":…,"instance":…}],
///      "alerts":[{…the stream's alert event…}],
///      "commands":[{…the stream's command event…}], "states":[{…its state event…}]}
///
/// Readings take one position (stream id) each; presence and takeovers carry no id.
struct LoggedEvents: Sendable {
    var first: Int64 = 0
    var readings: [(device: String, reading: Reading)] = []
    var presence: [PresenceEvent] = []
    /// Devices whose newest connection began on `instance`: other hubs close theirs (4000).
    var takeovers: [Takeover] = []
    /// Alert transitions, as the stream's `alert` events.
    var alerts: [AlertStreamEvent] = []
    /// Command status changes and state changes, as the stream's events.
    var commands: [CommandStreamEvent] = []
    var states: [StateStreamEvent] = []

    struct Takeover: Codable, Sendable, Equatable {
        var device: String
        var instance: String
    }

    /// Stream ids the entry takes.
    var positions: Int { max(1, readings.count) }

    private struct LoggedReading: Codable {
        var device: String
        var reading: Reading

        init(device: String, reading: Reading) {
            self.device = device
            self.reading = reading
        }

        private enum Keys: String, CodingKey { case device }

        init(from decoder: any Decoder) throws {
            device = try decoder.container(keyedBy: Keys.self).decode(String.self, forKey: .device)
            reading = try Reading(from: decoder)
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(device, forKey: .device)
            try reading.encode(to: encoder)
        }
    }

    private struct Body: Codable {
        var readings: [LoggedReading]?
        var presence: [PresenceEvent]?
        var takeover: [Takeover]?
        var alerts: [AlertStreamEvent]?
        var commands: [CommandStreamEvent]?
        var states: [StateStreamEvent]?
    }

    /// Readings first, written by hand (`LoggedReadingsText`); the rarer
    /// kinds after them through `JSONEncoder`.
    var body: String {
        let others =
            presence.isEmpty && takeovers.isEmpty && alerts.isEmpty && commands.isEmpty && states.isEmpty
            ? "{}"
            : JSONEncoder.wireText(Body(
                readings: nil, presence: presence.isEmpty ? nil : presence, takeover: takeovers.isEmpty ? nil : takeovers,
                alerts: alerts.isEmpty ? nil : alerts, commands: commands.isEmpty ? nil : commands,
                states: states.isEmpty ? nil : states))
        guard !readings.isEmpty else { return others }
        return Self.readingsPrefix + LoggedReadingsText.write(readings) + (others == "{}" ? "}" : "," + others.dropFirst())
    }

    private static let readingsPrefix = #"{"readings":"#

    static func decode(_ body: String, first: Int64) -> LoggedEvents? {
        var body = body
        if let events = body.withUTF8({ decodeWritten($0, first: first) }) { return events }
        return decodeAnyForm(body, first: first)
    }

    /// The form `body` writes, its readings read by hand; nil for any other.
    static func decodeWritten(_ bytes: UnsafeBufferPointer<UInt8>, first: Int64) -> LoggedEvents? {
        let start = readingsPrefix.utf8.count
        guard bytes.starts(with: readingsPrefix.utf8), let (readings, end) = LoggedReadingsText.read(bytes, from: start),
            end < bytes.count
        else { return nil }
        var events = LoggedEvents(first: first, readings: readings)
        if bytes[end] == UInt8(ascii: "}") { return end + 1 == bytes.count ? events : nil }
        guard bytes[end] == UInt8(ascii: ",") else { return nil }
        // The other members, as an object of their own.
        let rest = "{" + String(decoding: UnsafeBufferPointer(rebasing: bytes[(end + 1)...]), as: UTF8.self)
        guard let others = try? JSONDecoder().decode(Body.self, from: Data(rest.utf8)), others.readings == nil else { return nil }
        events.presence = others.presence ?? []
        events.takeovers = others.takeover ?? []
        events.alerts = others.alerts ?? []
        events.commands = others.commands ?? []
        events.states = others.states ?? []
        return events
    }

    /// Any JSON object of the body's members, in any order and spacing.
    static func decodeAnyForm(_ body: String, first: Int64) -> LoggedEvents? {
        guard let decoded = try? JSONDecoder().decode(Body.self, from: Data(body.utf8)) else { return nil }
        return LoggedEvents(
            first: first, readings: (decoded.readings ?? []).map { ($0.device, $0.reading) }, presence: decoded.presence ?? [],
            takeovers: decoded.takeover ?? [], alerts: decoded.alerts ?? [], commands: decoded.commands ?? [],
            states: decoded.states ?? [])
    }
}
