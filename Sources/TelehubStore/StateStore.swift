public import TelehubCore

/// An operator's change to a device's desired state.
public enum DesiredChange: Sendable, Equatable {
    /// The whole object (`PUT`).
    case replace(JSONValue)
    /// An RFC 7396 merge patch (`PATCH`).
    case patch(JSONValue)
}

public enum StateStoreError: Error, Equatable, Sendable {
    case unknownDevice(String)
    /// `If-Match` named another version than the current one.
    case versionMismatch(current: Int64)
    /// The result would break the bounds (the text says which).
    case invalid(String)
}

/// A device's report, as a commit carries it.
public struct PendingReport: Sendable, Equatable {
    public var deviceID: Int64
    public var report: StateReport

    public init(deviceID: Int64, report: StateReport) {
        self.deviceID = deviceID
        self.report = report
    }
}

/// Desired and reported state per device (contract v1.2). A change is one
/// transaction that checks the version it was made against, so two
/// operators (or hubs) cannot overwrite each other unseen.
public protocol StateStore: Sendable {
    /// Both documents of a device (versions 0 and `{}` before the first
    /// change), or nil when there is no such device.
    func deviceState(device: String) async throws -> DeviceState?
    /// Replaces or patches the desired state, when its version is `ifVersion` (if given).
    /// - Throws: `StateStoreError`.
    func changeDesired(device: String, _ change: DesiredChange, ifVersion: Int64?, now: Int64) async throws -> DeviceState
    /// Devices whose desired version is above what the caller last saw, with that version.
    func desiredVersions(devices: Set<String>) async throws -> [String: Int64]
}
