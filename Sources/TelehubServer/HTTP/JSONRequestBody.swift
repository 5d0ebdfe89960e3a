import Foundation
import Hummingbird
import TelehubCore

/// The bodies and parameters the control API shares: a JSON body read up to
/// a bound, and a `?wait=` in milliseconds.
enum JSONRequestBody {
    /// A body larger than any valid command or state object.
    static let maxBytes = 64 * 1024
    /// The longest `?wait=` (a command's answer, the HTTP long poll).
    static let maxWaitMs: Int64 = 60_000

    /// - Parameter code: the error code of a body that is not JSON (`invalid_command`, `invalid_state`).
    static func read(_ request: Request, invalidCode code: String, what: String) async throws -> JSONValue {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBytes)
        } catch {
            throw APIError(status: .contentTooLarge, code: "payload_too_large", message: "a \(what) body is at most \(maxBytes) bytes")
        }
        do {
            return try JSONValue.parse(String(buffer: buffer))
        } catch {
            throw APIError(status: .badRequest, code: code, message: "the body is not JSON")
        }
    }

    static func waitMs(_ text: String?) throws -> Int64? {
        guard let text else { return nil }
        guard let value = Int64(text), (0...maxWaitMs).contains(value) else {
            throw APIError.invalidQuery(QueryError("wait must be milliseconds from 0 to \(maxWaitMs)"))
        }
        return value
    }
}
