import Foundation
import Hummingbird
import TelehubCore
import TelehubStore

/// Desired and reported state (contract v1.2): reading needs a read
/// credential, changing the desired object a control one.
struct StateRoutes {
    let hub: Hub

    func register(on router: Router<HubRequestContext>) {
        router.get("/v1/devices/{name}/state") { request, context -> Response in
            try await hub.requireReader(request, context)
            guard let state = try await hub.store.deviceState(device: try context.parameters.require("name")) else {
                throw APIError.notFound
            }
            return WireResponseEncoder.response(state)
        }
        router.put("/v1/devices/{name}/state/desired") { request, context -> Response in
            try await change(request, context) { .replace($0) }
        }
        router.patch("/v1/devices/{name}/state/desired") { request, context -> Response in
            try await change(request, context) { .patch($0) }
        }
    }

    private func change(_ request: Request, _ context: HubRequestContext, _ make: (JSONValue) -> DesiredChange) async throws -> Response {
        try await hub.requireController(request, context)
        let device = try context.parameters.require("name")
        let ifVersion = try Self.ifMatch(request)
        let change = make(try await JSONRequestBody.read(request, invalidCode: "invalid_state", what: "state"))
        switch change {
        case .replace(let whole):
            if let problem = DeviceState.problem(with: whole) { throw APIError(status: .badRequest, code: "invalid_state", message: problem) }
        case .patch(let patch):
            // The merged object is checked against the bounds in the store's transaction.
            guard case .object = patch else {
                throw APIError(status: .badRequest, code: "invalid_state", message: "a merge patch of the desired object: a JSON object")
            }
        }
        do {
            let state = try await hub.states.changeDesired(device: device, change, ifVersion: ifVersion)
            var response = WireResponseEncoder.response(state.desired)
            response.headers[.eTag] = "\"\(state.desired.version)\""
            return response
        } catch let error as StateStoreError {
            switch error {
            case .unknownDevice: throw APIError.notFound
            case .invalid(let problem): throw APIError(status: .badRequest, code: "invalid_state", message: problem)
            case .versionMismatch(let current):
                var response = WireResponseEncoder.response(VersionMismatch(version: current), status: .preconditionFailed)
                response.headers[.eTag] = "\"\(current)\""
                return response
            }
        }
    }

    /// `If-Match: "8"` (or `8`): the version the change was made against.
    static func ifMatch(_ request: Request) throws -> Int64? {
        guard let text = request.headers[.ifMatch] else { return nil }
        let trimmed = text.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        guard let version = Int64(trimmed), version >= 0 else {
            throw APIError(status: .badRequest, code: "invalid_state", message: "If-Match: the desired version, such as \"8\"")
        }
        return version
    }
}

/// 412's body: `{"error":"version_mismatch","version":N}`.
struct VersionMismatch: Encodable {
    var error = "version_mismatch"
    var version: Int64
}
