import Foundation
import Hummingbird
import TelehubCore

/// An HTTP error with the contract's JSON body, `{"error":"<code>"}`, plus a
/// human-readable `message` where it helps.
struct APIError: HTTPResponseError {
    var status: HTTPResponse.Status
    var code: String
    var message: String?
    var headers: HTTPFields = [:]

    static let unauthorized = APIError(status: .unauthorized, code: "unauthorized")
    static let notFound = APIError(status: .notFound, code: "not_found")
    static let forbidden = APIError(status: .forbidden, code: "forbidden")
    static let methodNotAllowed = APIError(status: .methodNotAllowed, code: "method_not_allowed")

    /// Too many failed authentications from the client's address.
    static func tooManyFailures(retryAfterMs: Int64) -> APIError {
        APIError(
            status: .tooManyRequests, code: "too_many_requests",
            message: "too many failed authentications from this address; try again later",
            headers: [.retryAfter: String(retryAfterSeconds(retryAfterMs))])
    }

    /// `Retry-After` in whole seconds, rounded up, at least 1.
    static func retryAfterSeconds(_ ms: Int64) -> Int64 {
        max(1, (ms + 999) / 1000)
    }

    /// A query parameter out of its bounds.
    static func invalidQuery(_ error: QueryError) -> APIError {
        APIError(status: .badRequest, code: "invalid_query", message: error.message)
    }

    static func badRequest(_ message: String) -> APIError {
        APIError(status: .badRequest, code: "bad_request", message: message)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = WireResponseEncoder.response(APIErrorAnswer(error: code, message: message), status: status)
        response.headers.append(contentsOf: headers)
        return response
    }
}

extension APIError {
    /// Any error a route throws, as the hub answers it: its own as they are,
    /// a library's (`HTTPError`, `NIOTooManyBytesError` for a body over its
    /// limit, …) by its status, anything else 500.
    init(answering error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let error as any HTTPResponseError:
            switch error.status {
            case .notFound: self = .notFound
            case .methodNotAllowed: self = .methodNotAllowed
            default: self.init(status: error.status, code: Self.code(error.status), message: (error as? HTTPError)?.body)
            }
        default:
            self.init(status: .internalServerError, code: "internal_error")
        }
    }

    private static func code(_ status: HTTPResponse.Status) -> String {
        status.reasonPhrase.lowercased().replacingOccurrences(of: " ", with: "_")
    }
}

/// Gives every error a JSON body, so `/v1` never answers with HTML or an empty page.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            throw APIError(answering: error)
        }
    }
}
