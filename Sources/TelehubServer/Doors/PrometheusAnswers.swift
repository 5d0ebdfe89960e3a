import TelehubCore

/// The Prometheus HTTP API's JSON shapes, written by the hub's wire encoder
/// (sorted keys) like every other answer.

/// `{"status":"success","data":…}`.
struct PrometheusSuccess<Data: Encodable>: Encodable {
    let status = "success"
    var data: Data
}

/// `{"status":"error","errorType":"bad_data","error":"…"}`.
struct PrometheusFailure: Encodable {
    let status = "error"
    var errorType: String
    var error: String
}

/// A sample as the API writes it: `[seconds, "value"]`, the time a number
/// (with its fraction only when there is one), the value a string.
struct PrometheusSample: Encodable {
    var ms: Int64
    var value: Double

    func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        if ms % 1000 == 0 {
            try container.encode(ms / 1000)
        } else {
            try container.encode(Double(ms) / 1000)
        }
        try container.encode(PromTime.value(value))
    }
}

/// `query`'s and `query_range`'s data: `resultType` and `result`.
enum PrometheusQueryData: Encodable {
    struct Instant: Encodable {
        var metric: [String: String]
        var value: PrometheusSample
    }

    struct Range: Encodable {
        var metric: [String: String]
        var values: [PrometheusSample]
    }

    case scalar(PrometheusSample)
    case vector([Instant])
    case matrix([Range])

    private enum CodingKeys: String, CodingKey {
        case resultType, result
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .scalar(let sample):
            try container.encode("scalar", forKey: .resultType)
            try container.encode(sample, forKey: .result)
        case .vector(let series):
            try container.encode("vector", forKey: .resultType)
            try container.encode(series, forKey: .result)
        case .matrix(let series):
            try container.encode("matrix", forKey: .resultType)
            try container.encode(series, forKey: .result)
        }
    }
}

/// `status/buildinfo`'s data: the Prometheus API version this door follows.
struct PrometheusBuildInfo: Encodable {
    var version: String
    var revision = "telehub"
    var branch = "telehub"
    var buildUser = "telehub"
    var buildDate = ""
    var goVersion = "none"
}
