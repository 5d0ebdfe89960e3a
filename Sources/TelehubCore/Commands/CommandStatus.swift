/// Where a command is (contract v1.2, "Commands"): `queued` (stored) →
/// `sent` (written to the device's connection) → `delivered` (the device
/// acknowledged it) → `succeeded` or `failed` (its result); or `expired`
/// (its ttl passed first) or `canceled`.
public enum CommandStatus: String, Sendable, Codable, CaseIterable, Hashable {
    case queued
    case sent
    case delivered
    case succeeded
    case failed
    case expired
    case canceled

    /// A final command never changes again.
    public var isFinal: Bool {
        switch self {
        case .succeeded, .failed, .expired, .canceled: true
        case .queued, .sent, .delivered: false
        }
    }

    /// The statuses that are not final, as the stores query them.
    public static let open: [CommandStatus] = allCases.filter { !$0.isFinal }
}
