import Hummingbird
import TelehubCore

/// An error of the InfluxDB door, answered in InfluxDB 2.x's shape,
/// `{"code":"invalid","message":"line 3: …"}`, which the 1.x clients show too.
struct InfluxError: Error {
    var status: HTTPResponse.Status
    var message: String
    var headers: HTTPFields = [:]

    init(status: HTTPResponse.Status, message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    static func invalid(_ message: String) -> InfluxError {
        InfluxError(status: .badRequest, message: message)
    }

    /// A refusal of the ingest actor: the bounds and answers of `/v1/ingest`
    /// (a body over a bound 413, rate 429, overload 503, with `Retry-After`).
    init(_ rejection: IngestRejection) {
        if let status = rejection.retryStatus {
            self.init(status: status, message: rejection.message, headers: [.retryAfter: String(rejection.retryAfterSeconds)])
            return
        }
        switch rejection.code {
        case .batchTooLarge, .tooManySeries:
            self.init(status: .contentTooLarge, message: rejection.message)
        default:
            self.init(status: .badRequest, message: rejection.message)
        }
    }

    /// Any error of a door route: the hub's own (401, 429 for failed logins,
    /// 413 for a body over the limit) keep their status and headers.
    init(_ error: any Error) {
        if let error = error as? InfluxError {
            self = error
            return
        }
        let answer = APIError(answering: error)
        self.init(status: answer.status, message: answer.message ?? Self.defaultMessage(answer.status), headers: answer.headers)
    }

    private static func defaultMessage(_ status: HTTPResponse.Status) -> String {
        switch status {
        case .unauthorized: "unauthorized access: a device token is needed (Token, Bearer, basic auth password or p)"
        case .contentTooLarge: "the body is over the hub's limit"
        default: status.reasonPhrase.lowercased()
        }
    }

    /// InfluxDB's names for the statuses it answers.
    var code: String {
        switch status {
        case .badRequest: "invalid"
        case .unauthorized: "unauthorized"
        case .forbidden: "forbidden"
        case .notFound: "not found"
        case .methodNotAllowed: "method not allowed"
        case .contentTooLarge: "request too large"
        case .unsupportedMediaType: "unsupported media type"
        case .tooManyRequests: "too many requests"
        case .serviceUnavailable: "unavailable"
        default: "internal error"
        }
    }

    func response() -> Response {
        let (head, body) = answer()
        return Response(status: head.status, headers: head.headerFields, body: .init(byteBuffer: body))
    }

    /// The answer's head and body, where no `Response` is made (`LoopWriteHandler`).
    func answer() -> (head: HTTPResponse, body: ByteBuffer) {
        var (fields, body) = WireResponseEncoder.json(InfluxErrorAnswer(code: code, message: message))
        fields.append(contentsOf: headers)
        return (HTTPResponse(status: status, headerFields: fields), body)
    }
}

/// InfluxDB 2.x's error body.
struct InfluxErrorAnswer: Encodable {
    var code: String
    var message: String
}
