/// `GET /v1/devices/{name}/metrics/{metric}`: `{"step":0,"points":[[ts,value],…]}`
/// when the raw values fit, else `{"step":N,"points":[[start,avg,min,max,count],…]}`.
public struct HistoryAnswer: Sendable, Equatable, Codable {
    /// Bucket width in ms; 0 for raw values.
    public var step: Int64
    public var points: [Point]

    public enum Point: Sendable, Equatable, Codable {
        case raw(ts: Int64, value: Double)
        case bucket(start: Int64, average: Double, min: Double, max: Double, count: Int64)

        public init(from decoder: any Decoder) throws {
            var items = try decoder.unkeyedContainer()
            let ts = try items.decode(Int64.self)
            let first = try items.decodeFinite()
            if items.isAtEnd {
                self = .raw(ts: ts, value: first)
                return
            }
            let min = try items.decodeFinite()
            let max = try items.decodeFinite()
            let count = try items.decode(Int64.self)
            self = .bucket(start: ts, average: first, min: min, max: max, count: count)
        }

        public func encode(to encoder: any Encoder) throws {
            var items = encoder.unkeyedContainer()
            switch self {
            case .raw(let ts, let value):
                try items.encode(ts)
                try items.encodeFinite(value)
            case .bucket(let start, let average, let min, let max, let count):
                try items.encode(start)
                try items.encodeFinite(average)
                try items.encodeFinite(min)
                try items.encodeFinite(max)
                try items.encode(count)
            }
        }
    }

    public init(_ history: MetricHistory) {
        switch history {
        case .raw(let points):
            step = 0
            self.points = points.map { .raw(ts: $0.ts, value: $0.value) }
        case .buckets(let step, let buckets):
            self.step = step
            points = buckets.map { bucket in
                let a = bucket.aggregate
                return .bucket(start: bucket.start, average: a.average, min: a.min, max: a.max, count: a.count)
            }
        }
    }
}

extension UnkeyedEncodingContainer {
    /// A value that is not finite (only in files written before values were
    /// bounded) as `null`, so the answer stays valid JSON.
    mutating func encodeFinite(_ value: Double) throws {
        if value.isFinite { try encode(value) } else { try encodeNil() }
    }
}

extension UnkeyedDecodingContainer {
    mutating func decodeFinite() throws -> Double {
        try decodeNil() ? .nan : decode(Double.self)
    }
}
