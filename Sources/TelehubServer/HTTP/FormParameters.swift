import Foundation
import Hummingbird

/// `application/x-www-form-urlencoded` parameters of a request's query
/// string and, for a POST, its body (Grafana and the InfluxDB clients POST
/// forms). `+` is a space here, which the router's query decoding leaves as
/// it is; a name may repeat (`match[]`).
struct FormParameters {
    /// Larger forms are not what a client of the doors sends.
    static let maxBodyBytes = 64 * 1024

    private(set) var pairs: [(name: String, value: String)] = []

    init(_ request: Request) async throws {
        pairs = Self.decode(request.uri.query ?? "")
        // Read whatever the Content-Type says: the InfluxDB 1.x library sends
        // its form labelled application/json.
        if request.method == .post {
            var request = request
            let body = try await request.collectBody(upTo: Self.maxBodyBytes)
            pairs += Self.decode(String(buffer: body))
        }
    }

    /// The first value of `name`.
    subscript(_ name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    func all(_ name: String) -> [String] {
        pairs.filter { $0.name == name }.map(\.value)
    }

    static func decode(_ text: String) -> [(name: String, value: String)] {
        text.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = decodeComponent(parts[0]) else { return nil }
            return (name, parts.count == 2 ? decodeComponent(parts[1]) ?? "" : "")
        }
    }

    private static func decodeComponent(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
