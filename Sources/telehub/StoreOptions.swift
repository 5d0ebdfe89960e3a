import ArgumentParser
import Foundation
import TelehubPostgres
import TelehubSQLite
import TelehubStore

/// `--db`, shared by every subcommand: the flag, else `TELEHUB_DB`, else the default.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "Database file, or postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME (default ./telehub-data/telehub.sqlite, or TELEHUB_DB).")
    var db: String?

    static let defaultPath = "./telehub-data/telehub.sqlite"

    /// The scheme of a `scheme://…` value (letters, digits, `+`, `-`, `.`), nil for a file path.
    static func urlScheme(_ value: String) -> String? {
        guard let range = value.range(of: "://") else { return nil }
        let scheme = value[..<range.lowerBound]
        guard let first = scheme.first, first.isLetter, scheme.count <= 32,
            scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) })
        else { return nil }
        return String(scheme)
    }

    var path: String {
        db ?? ProcessInfo.processInfo.environment["TELEHUB_DB"] ?? Self.defaultPath
    }

    /// Opens the store: a PostgreSQL server for a `postgresql://` URL, else
    /// the SQLite file, creating its folder when needed.
    /// - Parameter busyTimeout: seconds a SQLite write waits for another process's lock.
    func open(busyTimeout: Double = 10) async throws -> any TelemetryStore {
        try await Self.open(path, busyTimeout: busyTimeout)
    }

    /// Opens the store `path` names, as `--db` would.
    static func open(_ path: String, busyTimeout: Double = 10) async throws -> any TelemetryStore {
        if PostgresURL.isPostgres(path) {
            return try await PostgresStore.open(try PostgresURL(path))
        }
        // Any other URL is not a file name: `mysql://user:secret@host/db` would
        // otherwise become folders and a SQLite file, the password in a path.
        if let scheme = Self.urlScheme(path) {
            throw CLIError(
                "--db \(scheme)://…: not a store Telehub knows; pass a file path (e.g. --db \(Self.defaultPath)) "
                    + "or postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(
            at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return try SQLiteStore(path: path, busyTimeout: busyTimeout)
    }
}

/// Ranges of numeric options, checked before a command runs: a number from
/// the command line never reaches arithmetic or a `Duration` unchecked.
enum Bounds {
    static func check<Value: Comparable & CustomStringConvertible>(
        _ name: String, _ value: Value, _ range: ClosedRange<Value>
    ) throws(ValidationError) {
        guard range.contains(value) else {
            throw ValidationError("\(name) must be between \(range.lowerBound) and \(range.upperBound), not \(value)")
        }
    }

    /// Labels are shown in lists; a few hundred characters is plenty.
    static func checkLabel(_ label: String?) throws(ValidationError) {
        guard let label else { return }
        guard label.count <= 200 else { throw ValidationError("--label is longer than 200 characters") }
    }
}

/// A failure the operator caused: printed to stderr without a stack of detail.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

enum Output {
    static func json(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func time(_ ms: Int64?) -> String {
        guard let ms else { return "-" }
        let formatter = ISO8601DateFormatter()
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    /// Columns padded to their widest cell.
    static func table(_ header: [String], _ rows: [[String]]) -> String {
        let all = [header] + rows
        let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
        return all.map { row in
            row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }
                .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
        }.joined(separator: "\n")
    }
}
