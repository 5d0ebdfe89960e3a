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
        if let error = error as? PrometheusError {
            self = error
            return
        }
        let answer = APIError(answering: error)
        switch answer.status {
        case .unauthorized:
            self.init(
                status: answer.status, type: "unauthorized",
                message: "a read token is needed (Bearer, or the password of basic authentication)", headers: answer.headers)
        case .internalServerError:
            self.init(status: answer.status, type: "internal", message: "internal error")
        default:
            self.init(
                status: answer.status, type: "bad_data", message: answer.message ?? answer.status.reasonPhrase.lowercased(),
                headers: answer.headers)
        }
    }
}
