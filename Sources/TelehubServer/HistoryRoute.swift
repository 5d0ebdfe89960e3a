import Hummingbird
import TelehubCore

/// `GET /v1/devices/{name}/metrics/{metric}?from=&to=&points=`: a series'
/// history, raw when it fits in `points`, else equal buckets from the rollups.
struct HistoryRoute {
    let hub: Hub

    func register(on router: Router<HubRequestContext>) {
        router.get("/v1/devices/{name}/metrics/{metric}") { request, context in
            try await hub.requireReader(request, context)
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

extension HistoryQuery {
    init(_ request: Request, now: Int64 = EpochClock.nowMs()) throws(APIError) {
        let parameters = request.uri.queryParameters
        do throws(QueryError) {
            try self.init(parameter: { parameters[Substring($0)] }, now: now)
        } catch {
            throw APIError.invalidQuery(error)
        }
    }
}
