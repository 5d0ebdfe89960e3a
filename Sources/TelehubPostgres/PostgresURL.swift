import Foundation
package import PostgresNIO

/// `--db postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME[?sslmode=disable|prefer|require][&schema=NAME]`,
/// parsed into the client's configuration. Kept apart from the store so the
/// CLI can tell a URL from a file name, and the rules have unit tests.
public struct PostgresURL: Sendable, Equatable {
    public enum TLSMode: String, Sendable { case disable, prefer, require }

    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var tls: TLSMode
    /// The schema Telehub's tables live in (created when missing); nil for
    /// the server's default (`public`). Lets several hubs, or tests, share a database.
    public var schema: String?

    /// True when the text names a PostgreSQL server rather than a file.
    public static func isPostgres(_ text: String) -> Bool {
        text.hasPrefix("postgresql://") || text.hasPrefix("postgres://")
    }

    /// - Throws: `PostgresURLError` saying what is missing or wrong; the
    ///   message never repeats the password.
    public init(_ text: String) throws(PostgresURLError) {
        guard Self.isPostgres(text) else { throw PostgresURLError("it does not start with postgresql://") }
        guard text.utf8.count <= 2048 else { throw PostgresURLError("it is longer than 2048 bytes") }
        guard let components = URLComponents(string: text) else { throw PostgresURLError("it is not a valid URL") }
        guard let host = components.host, !host.isEmpty else { throw PostgresURLError("it names no host") }
        guard let user = components.user, !user.isEmpty else { throw PostgresURLError("it names no user (postgresql://USER@HOST/DB)") }
        let database = String(components.path.drop { $0 == "/" })
        guard !database.isEmpty, !database.contains("/") else {
            throw PostgresURLError("it names no database (postgresql://USER@HOST/DBNAME)")
        }
        let port = components.port ?? 5432
        guard (1...65535).contains(port) else { throw PostgresURLError("the port must be between 1 and 65535") }
        var tls = TLSMode.prefer
        var schema: String?
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let mode = item.value.flatMap(TLSMode.init(rawValue:)) else {
                    throw PostgresURLError("sslmode must be disable, prefer or require")
                }
                tls = mode
            case "schema":
                guard let name = item.value, Self.isPlainIdentifier(name) else {
                    throw PostgresURLError("schema must be 1 to 63 lowercase letters, digits or _, not starting with a digit")
                }
                schema = name
            default:
                throw PostgresURLError("unknown parameter \"\(item.name)\" (sslmode and schema are understood)")
            }
        }
        self.host = host
        self.port = port
        self.username = user.removingPercentEncoding ?? user
        self.password = components.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database.removingPercentEncoding ?? database
        self.tls = tls
        self.schema = schema
    }

    /// A name that needs no quoting in SQL: the store puts it into statements.
    static func isPlainIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= 63 else { return false }
        guard ("a"..."z").contains(first) || first == "_" else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }

    /// The URL without its password, for logs and messages.
    public var redacted: String {
        "postgresql://\(username)\(password == nil ? "" : ":***")@\(host):\(port)/\(database)\(schema.map { "?schema=\($0)" } ?? "")"
    }

    /// For a connection of its own, outside the pool (the start-up check, listening).
    package func connectionConfiguration() -> PostgresConnection.Configuration {
        let tlsSetting: PostgresConnection.Configuration.TLS =
            switch tls {
            case .disable: .disable
            case .prefer: .prefer(try! .init(configuration: .makeClientConfiguration()))
            case .require: .require(try! .init(configuration: .makeClientConfiguration()))
            }
        var configuration = PostgresConnection.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tlsSetting)
        configuration.options.connectTimeout = .seconds(5)
        if let schema { configuration.options.additionalStartupParameters = [("search_path", schema)] }
        return configuration
    }

    func clientConfiguration(maxConnections: Int) -> PostgresClient.Configuration {
        let tlsSetting: PostgresClient.Configuration.TLS =
            switch tls {
            case .disable: .disable
            case .prefer: .prefer(.makeClientConfiguration())
            case .require: .require(.makeClientConfiguration())
            }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tlsSetting)
        configuration.options.maximumConnections = maxConnections
        configuration.options.connectTimeout = .seconds(5)
        if let schema { configuration.options.additionalStartupParameters = [("search_path", schema)] }
        return configuration
    }
}

public struct PostgresURLError: Error, Equatable, CustomStringConvertible {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "--db postgresql://…: \(reason)" }
}
