import Foundation
import TelehubCore

/// The InfluxQL statements clients send before they write: `CREATE
/// DATABASE` (Telegraf's 1.x output, the 1.x client libraries) and `SHOW
/// DATABASES`. Telehub keeps no databases, so creating one succeeds and
/// changes nothing, and the list holds the one the hub is.
enum InfluxStatements {
    static let databaseName = "telehub"
    /// More statements than any client's start-up sends.
    static let maxStatements = 16

    /// One result per `;`-separated statement, or the first one that is not answered here.
    static func answer(_ text: String) throws(InfluxError) -> [InfluxStatementResult] {
        let statements = text.split(separator: ";").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        guard !statements.isEmpty else { throw InfluxError.invalid("error parsing query: empty query") }
        guard statements.count <= maxStatements else { throw InfluxError.invalid("at most \(maxStatements) statements a query") }
        var results: [InfluxStatementResult] = []
        for (index, statement) in statements.enumerated() {
            let words = statement.split(whereSeparator: \.isWhitespace).map { $0.uppercased() }
            if words.count >= 3, words[0] == "CREATE", words[1] == "DATABASE" {
                results.append(InfluxStatementResult(statementID: index))
            } else if words == ["SHOW", "DATABASES"] {
                results.append(InfluxStatementResult(
                    statementID: index,
                    series: [InfluxSeries(name: "databases", columns: ["name"], values: [[databaseName]])]))
            } else {
                throw InfluxError.invalid(
                    "statement \(JSONText.quoted(String(statement.prefix(80)))) is not answered here: only CREATE DATABASE and SHOW DATABASES; read through the Prometheus door (/api/v1/query) or /v1")
            }
        }
        return results
    }
}

/// `/query`'s answer: `{"results":[{"statement_id":0,…}]}`.
struct InfluxQueryAnswer: Encodable {
    var results: [InfluxStatementResult]
}

/// InfluxDB 1.x's error body for `/query`.
struct InfluxQueryError: Encodable {
    var error: String
}

struct InfluxStatementResult: Encodable {
    var statementID: Int
    var series: [InfluxSeries]?

    private enum CodingKeys: String, CodingKey {
        case statementID = "statement_id"
        case series
    }
}

struct InfluxSeries: Encodable {
    var name: String
    var columns: [String]
    var values: [[String]]
}
