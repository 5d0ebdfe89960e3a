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
            return HistoryAnswer(history)
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
