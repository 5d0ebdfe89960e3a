/// The store cannot write now (locked by another process, disk full, I/O
/// error): nothing of the failed call was stored, and it may succeed later.
public struct StoreUnavailable: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String

    public init(_ reason: String) { self.reason = reason }

    public var description: String { reason }
}

public enum StoreError: Error, Equatable, CustomStringConvertible {
    case invalidDeviceName(String)
    case deviceRequired
    case invalidDisplay(String)
    /// The file is another program's, corrupt, or not SQLite; it was not written to.
    case notTelehubDatabase(path: String, reason: String)
    case cannotOpen(path: String, reason: String)
    /// A metric id vanished within a transaction; never expected.
    case metricMissing(String)
    /// A chunk's bytes do not decode (changed on disk): its values cannot be read.
    case damagedChunk(id: Int64, reason: String)
    /// This store is backed up by other means (PostgreSQL: `pg_dump`); the text says how.
    case backupNotHere(String)

    public var description: String {
        switch self {
        case .notTelehubDatabase(let path, let reason):
            "\(path) is not a Telehub database (\(reason)); it was left untouched. Pass --db with another path."
        case .cannotOpen(let path, let reason): "cannot open the database \(path): \(reason)"
        case .metricMissing(let name): "metric \(name) has no id"
        case .damagedChunk(let id, let reason): "chunk \(id) of the database is damaged (\(reason)); restore it from a backup"
        case .invalidDeviceName(let name): "invalid device name \"\(name)\": use letters, digits, '.', '_' or '-' (at most 64)"
        case .deviceRequired: "a device token needs a device name"
        case .invalidDisplay(let why): why
        case .backupNotHere(let how): how
        }
    }
}
