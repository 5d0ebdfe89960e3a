import Hummingbird
import TelehubCore

/// `/v1/ingest`: the WebSocket connection, and HTTP POST for devices that send rarely.
struct IngestRoutes {
    let hub: Hub

    func register(on router: Router<HubRequestContext>) {
        router.get("/v1/ingest") { request, context -> Response in
            _ = try await hub.requireDevice(request, context)
            throw APIError(
                status: .upgradeRequired, code: "upgrade_required",
                message: "open a WebSocket here, or POST messages", headers: [.upgrade: "websocket"])
        }
        router.post("/v1/ingest") { request, context in
            try await post(request, context)
        }
        // The long poll of devices on HTTP: commands as soon as there are any.
        router.get("/v1/ingest/commands") { request, context -> Response in
            let identity = try await hub.requireDevice(request, context)
            let parameters = try QueryDecoding.decode(CommandWaitParameters.self, request, context)
            let wait = try JSONRequestBody.waitMs(parameters.wait) ?? 0
            let records = try await hub.commands.waitForCommands(for: identity.deviceName ?? "", waitMs: wait)
            return WireResponseEncoder.response(WaitingCommands(commands: records.map(CommandMessage.init)))
        }
    }

    private func post(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let identity = try await hub.requireDevice(request, context)
        var request = request
        let body = try await request.collectBody(upTo: hub.configuration.limits.maxMessageBytes)
        let now = EpochClock.nowMs()
        let validator = MessageValidator(limits: hub.configuration.limits, requiresSeq: false)
        switch validator.validate(body.readableBytesView, now: now) {
        case .failure(let rejection):
            hub.metrics.rejected(device: identity.deviceName ?? "", reason: rejection.code.rawValue)
            return Self.response(for: rejection)
        case .success(.ping(let id)):
            return try ServerMessage.pong(id: id).response(from: request, context: context)
        case .success(.ingest(let message)):
            let outcome = await hub.submit(message, identity: identity, now: now)
            switch outcome {
            case .committed(let seq):
                let waiting = try await hub.commands.take(for: identity.deviceName ?? "").map(CommandMessage.init)
                return try HTTPIngestAck(ack: seq, commands: waiting).response(from: request, context: context)
            case .rejected(let rejection):
                hub.metrics.rejected(device: identity.deviceName ?? "", reason: rejection.code.rawValue)
                return Self.response(for: rejection)
            }
        }
    }

    private static func response(for rejection: IngestRejection) -> Response {
        let body = ServerMessage.error(ErrorBody(rejection))
        guard let status = rejection.retryStatus else { return WireResponseEncoder.response(body, status: .badRequest) }
        var response = WireResponseEncoder.response(body, status: status)
        response.headers[.retryAfter] = String(rejection.retryAfterSeconds)
        return response
    }
}
