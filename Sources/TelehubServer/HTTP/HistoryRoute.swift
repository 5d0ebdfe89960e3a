import Hummingbird
import TelehubCore
import TelehubStore

/// `GET /v1/devices/{name}/metrics/{metric}?from=&to=&points=`: a series'
/// history, raw when it fits in `points`, else equal buckets from the rollups.
struct HistoryRoute {
    let hub: Hub

    func register(on router: Router<HubRequestContext>) {
        router.get("/v1/devices/{name}/metrics/{metric}") { request, context in
            try await hub.requireReader(request, context)
            let query = try HistoryQuery(request, context: context)
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
    init(_ request: Request, context: some RequestContext, now: Int64 = EpochClock.nowMs()) throws(APIError) {
        let parameters = try QueryDecoding.decode(HistoryParameters.self, request, context)
        do throws(QueryError) {
            try self.init(parameters, now: now)
        } catch {
            throw APIError.invalidQuery(error)
        }
    }
}

/// The read API's queries through Hummingbird's query decoding; a query it
/// cannot read (a repeated parameter, `from[x]=1`) is `invalid_query` too.
enum QueryDecoding {
    static func decode<Parameters: Decodable>(_ type: Parameters.Type, _ request: Request, _ context: some RequestContext)
        throws(APIError) -> Parameters
    {
        do {
            return try request.uri.decodeQuery(as: type, context: context)
        } catch {
            throw APIError.invalidQuery(QueryError("the query string cannot be read: each parameter once, as name=value"))
        }
    }
}
