import Hummingbird
import TelehubCore

/// `GET /v1/devices`, `GET /v1/devices/{name}` and `GET /healthz`.
struct ReadRoutes {
    let hub: Hub

    func register(on router: Router<HubRequestContext>) {
        router.get("/healthz") { _, _ in
            guard await hub.store.isWritable() else {
                return JSONBody.response(json: #"{"status":"unavailable"}"#, status: .serviceUnavailable)
            }
            return JSONBody.response(json: #"{"status":"ok"}"#)
        }
        router.get("/v1/devices") { request, _ in
            try await requireReader(request)
            return JSONBody.response(try await hub.deviceList())
        }
        router.get("/v1/devices/{name}") { request, context in
            try await requireReader(request)
            let name = try context.parameters.require("name")
            guard let status = try await hub.deviceStatus(named: name) else { throw APIError.notFound }
            return JSONBody.response(status)
        }
    }

    private func requireReader(_ request: Request) async throws {
        try await hub.requireReader(request)
    }
}

extension Hub {
    /// Throws 401 unless the request carries a live read token (header or session cookie).
    @discardableResult
    func requireReader(_ request: Request) async throws -> TokenIdentity {
        guard let identity = await authenticator.identify(Credentials.reader(request), as: .read) else {
            throw APIError.unauthorized
        }
        return identity
    }

    /// Throws 401 unless the request carries a live device token (header or `?token=`).
    func requireDevice(_ request: Request) async throws -> TokenIdentity {
        guard let identity = await authenticator.identify(Credentials.device(request), as: .device),
            identity.deviceID != nil, identity.deviceName != nil
        else { throw APIError.unauthorized }
        return identity
    }
}
