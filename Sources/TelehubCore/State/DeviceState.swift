import Foundation

/// A device's desired state (what the operator wants) or reported state
/// (what the device says it has), with the version every change raises by one.
public struct VersionedState: Sendable, Equatable, Codable {
    public var version: Int64
    public var state: JSONValue
    public var updatedAt: Int64?

    public init(version: Int64 = 0, state: JSONValue = .object([:]), updatedAt: Int64? = nil) {
        self.version = version
        self.state = state
        self.updatedAt = updatedAt
    }

    /// The contract writes `updatedAt` as null before the first change.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version, forKey: .version)
        try container.encode(state, forKey: .state)
        try container.encode(updatedAt, forKey: .updatedAt)
    }
}

/// The reported state, and the desired version the device has applied.
public struct ReportedState: Sendable, Equatable, Codable {
    public var version: Int64
    public var state: JSONValue
    public var updatedAt: Int64?
    public var applied: Int64?

    public init(version: Int64 = 0, state: JSONValue = .object([:]), updatedAt: Int64? = nil, applied: Int64? = nil) {
        self.version = version
        self.state = state
        self.updatedAt = updatedAt
        self.applied = applied
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version, forKey: .version)
        try container.encode(state, forKey: .state)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encode(applied, forKey: .applied)
    }
}

/// `GET /v1/devices/{name}/state`: both documents and what differs.
public struct DeviceState: Sendable, Equatable, Codable {
    public var desired: VersionedState
    public var reported: ReportedState
    public var delta: JSONValue

    public init(desired: VersionedState = VersionedState(), reported: ReportedState = ReportedState()) {
        self.desired = desired
        self.reported = reported
        self.delta = desired.state.delta(from: reported.state) ?? .object([:])
    }

    /// A state object's bounds (contract v1.2): 16 KiB of compact JSON, depth 8.
    public static let maxBytes = 16 * 1024
    public static let maxDepth = 8

    /// Why `value` cannot be a state object, or nil.
    public static func problem(with value: JSONValue, field: String = "state") -> String? {
        guard case .object = value else { return "\(field): a JSON object" }
        guard value.depth <= maxDepth else { return "\(field): nested deeper than \(maxDepth) levels" }
        let bytes = value.text.utf8.count
        guard bytes <= maxBytes else { return "\(field): \(bytes) bytes; at most \(maxBytes)" }
        return nil
    }
}

/// `{"type":"desired","version":9,"state":{…}}`, hub → device.
public struct DesiredMessage: Sendable, Equatable, Codable {
    public var type = "desired"
    public var version: Int64
    public var state: JSONValue

    public init(_ desired: VersionedState) {
        self.version = desired.version
        self.state = desired.state
    }

    public var json: String { JSONEncoder.wireText(self) }
}

/// A device's `reported` message: a merge patch over its reported state,
/// and the desired version it has applied.
public struct StateReport: Sendable, Equatable {
    public var patch: JSONValue
    public var applied: Int64?

    public init(patch: JSONValue, applied: Int64? = nil) {
        self.patch = patch
        self.applied = applied
    }
}

/// The versions of a device's desired and reported state, as the stream's
/// `event: state` and snapshot carry them: `{"desired":{"version":…},"reported":{"version":…,"applied":…}}`.
public struct StateVersions: Sendable, Equatable, Codable {
    public struct Desired: Sendable, Equatable, Codable {
        public var version: Int64
    }

    /// `applied` is written as null until the device names a version it applied.
    public struct Reported: Sendable, Equatable, Codable {
        public var version: Int64
        public var applied: Int64?

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(version, forKey: .version)
            try container.encode(applied, forKey: .applied)
        }
    }

    public var desired: Desired
    public var reported: Reported

    public init(desired: Int64 = 0, reported: Int64 = 0, applied: Int64? = nil) {
        self.desired = Desired(version: desired)
        self.reported = Reported(version: reported, applied: applied)
    }

    public init(_ state: DeviceState) {
        self.init(desired: state.desired.version, reported: state.reported.version, applied: state.reported.applied)
    }
}

/// A device's state versions in the stream's snapshot: `event: state` without `ts`.
public struct SnapshotState: Sendable, Equatable, Codable {
    public var device: String
    public var desired: StateVersions.Desired
    public var reported: StateVersions.Reported

    public init(device: String, _ versions: StateVersions) {
        self.device = device
        self.desired = versions.desired
        self.reported = versions.reported
    }
}

/// The stream's `event: state`.
public struct StateStreamEvent: Sendable, Equatable, Codable {
    public var device: String
    public var desired: StateVersions.Desired
    public var reported: StateVersions.Reported
    public var ts: Int64

    public init(device: String, state: DeviceState, at ts: Int64) {
        let versions = StateVersions(state)
        self.device = device
        self.desired = versions.desired
        self.reported = versions.reported
        self.ts = ts
    }
}
