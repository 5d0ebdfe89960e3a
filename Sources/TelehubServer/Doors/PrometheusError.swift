import Hummingbird

/// An error of the Prometheus door, answered in Prometheus's shape:
/// `{"status":"error","errorType":"bad_data","error":"…"}`.
struct PrometheusError: Error {
    var status: HTTPResponse.Status
    var type: String
    var message: String
    var headers: HTTPFields = [:]

    static func badData(_ message: String) -> PrometheusError {
        PrometheusError(status: .badRequest, type: "bad_data", message: message)
    }

    init(status: HTTPResponse.Status, type: String, message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.type = type
        self.message = message
        self.headers = headers
    }

    /// The hub's own errors (401, 429 after failed logins, 413) keep their status and headers.
    init(_ error: any Error) {
        switch error {
        case let error as PrometheusError:
            self = error
        case let error as APIError:
            let message = error.status == .unauthorized ? "a read token is needed (Bearer, or the password of basic authentication)" : error.message ?? error.code
            self.init(status: error.status, type: error.status == .unauthorized ? "unauthorized" : "bad_data", message: message, headers: error.headers)
        case let error as any HTTPResponseError:
            self.init(status: error.status, type: "bad_data", message: error.status.reasonPhrase.lowercased())
        default:
            self.init(status: .internalServerError, type: "internal", message: "internal error")
        }
    }
}
