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

    /// A comma-separated list (`queued,sent`), as `?status=` and `--status`
    /// take it; empty for none. - Throws: the name that is no status, and the ones that are.
    public static func list(_ text: String) throws(StatusListError) -> [CommandStatus] {
        guard !text.isEmpty else { return [] }
        return try text.split(separator: ",", omittingEmptySubsequences: false).map { name throws(StatusListError) in
            guard let status = CommandStatus(rawValue: String(name)) else { throw StatusListError(name: String(name.prefix(40))) }
            return status
        }
    }
}

/// A status list naming something that is no status.
public struct StatusListError: Error, Equatable, CustomStringConvertible {
    public var name: String

    public var description: String {
        "\(name) is none of \(CommandStatus.allCases.map(\.rawValue).joined(separator: ", "))"
    }
}
