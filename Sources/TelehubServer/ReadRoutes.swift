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
            return AlertList(alerts: try await hub.alertSummaries())
        }
        router.get("/v1/devices/{name}") { request, context in
            try await hub.requireReader(request, context)
            let name = try context.parameters.require("name")
            guard let status = try await hub.deviceStatus(named: name) else { throw APIError.notFound }
            return status
        }
    }
}
