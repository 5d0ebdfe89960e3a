import Hummingbird
import TelehubCore

/// `GET /v1/devices/{name}/metrics/{metric}?from=&to=&points=`: a series'
/// history, raw when it fits in `points`, else equal buckets from the rollups.
struct HistoryRoute {
    static let defaultPoints = 500
    static let maxPoints = 10_000
    static let defaultSpanMs: Int64 = 3_600_000

    let hub: Hub

    func register(on router: Router<HubRequestContext>) {
        router.get("/v1/devices/{name}/metrics/{metric}") { request, context in
            try await hub.requireReader(request)
            let query = try HistoryQuery(request)
            let device = try context.parameters.require("name")
            let metric = try context.parameters.require("metric")
            guard
                let history = try await hub.store.history(
                    device: device, metric: metric, from: query.from, to: query.to, points: query.points)
            else { throw APIError.notFound }
            return JSONBody.response(json: Self.json(history))
        }
    }

    /// `{"step":0,"points":[[ts,value],…]}` or `{"step":N,"points":[[start,avg,min,max,count],…]}`.
    static func json(_ history: MetricHistory) -> String {
        switch history {
        case .raw(let points):
            let items = points.map { "[\($0.ts),\(NumberText.format($0.value))]" }
            return #"{"step":0,"points":[\#(items.joined(separator: ","))]}"#
        case .buckets(let step, let buckets):
            let items = buckets.map { bucket in
                let a = bucket.aggregate
                return "[\(bucket.start),\(NumberText.format(a.average)),\(NumberText.format(a.min)),\(NumberText.format(a.max)),\(a.count)]"
            }
            return #"{"step":\#(step),"points":[\#(items.joined(separator: ","))]}"#
        }
    }
}

/// The validated query of a history request.
struct HistoryQuery {
    var from: Int64
    var to: Int64
    var points: Int

    init(_ request: Request, now: Int64 = EpochClock.nowMs()) throws {
        let parameters = request.uri.queryParameters
        to = try Self.integer(parameters["to"], name: "to") ?? now
        from = try Self.integer(parameters["from"], name: "from") ?? (to - HistoryRoute.defaultSpanMs)
        let points = try Self.integer(parameters["points"], name: "points") ?? Int64(HistoryRoute.defaultPoints)
        guard from <= to else { throw APIError.badRequest("from (\(from)) is after to (\(to))") }
        guard points >= 1 else { throw APIError.badRequest("points must be at least 1") }
        // Larger requests are answered with the cap rather than refused.
        self.points = Int(min(points, Int64(HistoryRoute.maxPoints)))
    }

    private static func integer(_ value: Substring?, name: String) throws -> Int64? {
        guard let value, !value.isEmpty else { return nil }
        guard let number = Int64(value) else {
            throw APIError.badRequest("\(name) must be an integer (milliseconds since the Unix epoch for times)")
        }
        return number
    }
}
