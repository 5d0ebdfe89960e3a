import Hummingbird
import TelehubCore
import TelehubStore

/// `GET /v1/devices`, `GET /v1/devices/{name}` and `GET /healthz`.
struct ReadRoutes {
    let hub: Hub

    func register(on router: Router<HubRequestContext>) {
        router.get("/healthz") { _, _ -> EditedResponse<HealthAnswer> in
            // After a failed commit the check writes to the file, so a disk that is
            // still full is not reported healthy by a transaction that writes nothing.
            let faulted = hub.health.currentFault != nil
            if let problem = await hub.store.writeProblem(probe: faulted) {
                hub.health.failed(problem)
                return EditedResponse(status: .serviceUnavailable, response: .unavailable(problem))
            }
            if faulted { hub.health.succeeded() }
            return EditedResponse(response: .ok)
        }
        router.get("/v1/devices") { request, context in
            try await hub.requireReader(request, context)
            return try await hub.deviceList()
        }
        router.get("/v1/alerts") { request, context in
            try await hub.requireReader(request, context)
            return AlertList(alerts: try await hub.store.alertSummaries())
        }
        // Beyond the contract: what `telehub alert history --json` prints, for the dashboard's alerts page.
        router.get("/v1/alerts/history") { request, context in
            try await hub.requireReader(request, context)
            let parameters = try QueryDecoding.decode(AlertHistoryParameters.self, request, context)
            let limit = parameters.limit ?? 50
            guard (1...1000).contains(limit) else {
                throw APIError.invalidQuery(QueryError("limit must be between 1 and 1000"))
            }
            let (events, deliveries) = try await hub.store.alertHistory(limit: limit)
            return AlertHistoryAnswer(history: AlertHistoryEntry.merged(events: events, deliveries: deliveries, limit: limit))
        }
        router.get("/v1/devices/{name}") { request, context in
            try await hub.requireReader(request, context)
            let name = try context.parameters.require("name")
            guard let status = try await hub.deviceStatus(named: name) else { throw APIError.notFound }
            return status
        }
    }
}

struct AlertHistoryParameters: Decodable {
    var limit: Int?
}

/// `GET /v1/alerts/history`: `{"history":[…]}`, newest first.
struct AlertHistoryAnswer: Encodable, ResponseEncodable {
    var history: [AlertHistoryEntry]
}
