public import TelehubCore

/// An operator's change to a device's desired state.
public enum DesiredChange: Sendable, Equatable {
    /// The whole object (`PUT`).
    case replace(JSONValue)
    /// An RFC 7396 merge patch (`PATCH`).
    case patch(JSONValue)
}

extension DesiredChange {
    /// The desired object after the change, as every store writes it.
    /// - Throws: `StateStoreError.versionMismatch` when `ifVersion` is not the
    ///   current version, `.invalid` when the result breaks the bounds.
    public func applied(to current: VersionedState, ifVersion: Int64?) throws(StateStoreError) -> JSONValue {
        if let ifVersion, ifVersion != current.version { throw .versionMismatch(current: current.version) }
        let next: JSONValue =
            switch self {
            case .replace(let whole): whole
            case .patch(let patch): current.state.merging(patch)
            }
        if let problem = DeviceState.problem(with: next) { throw .invalid(problem) }
        return next
    }
}

extension StateReport {
    /// The reported object after this report, or nil when it would break the
    /// bounds (then it is not stored; the patch alone was checked on arrival).
    public func applied(to current: ReportedState) -> JSONValue? {
        let next = current.state.merging(patch)
        return DeviceState.problem(with: next) == nil ? next : nil
    }
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
    /// The state versions of every device that ever had state (the others' are all 0).
    func stateVersions() async throws -> [String: StateVersions]
}
