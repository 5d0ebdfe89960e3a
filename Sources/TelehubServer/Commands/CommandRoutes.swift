import Foundation
import Hummingbird
import TelehubCore
import TelehubStore

/// The commands API (contract v1.2, "Commands"): sending and cancelling
/// need a control credential; listing and reading, a read one.
struct CommandRoutes {
    let hub: Hub

    func register(on router: Router<HubRequestContext>) {
        router.post("/v1/devices/{name}/commands") { request, context -> Response in
            try await hub.requireController(request, context)
            let device = try context.parameters.require("name")
            let parameters = try QueryDecoding.decode(CommandWaitParameters.self, request, context)
            let wait = try JSONRequestBody.waitMs(parameters.wait)
            let command = try CommandRequest.fromBody(try await JSONRequestBody.read(request, invalidCode: "invalid_command", what: "command"))
            let record = try await Self.answering { try await hub.commands.enqueue(command, for: device) }
            guard let wait else { return WireResponseEncoder.response(record, status: .accepted) }
            return WireResponseEncoder.response(try await hub.commands.waitUntilFinal(record, waitMs: wait))
        }
        router.get("/v1/devices/{name}/commands") { request, context -> CommandList in
            try await hub.requireReader(request, context)
            let device = try context.parameters.require("name")
            let parameters = try QueryDecoding.decode(CommandListParameters.self, request, context)
            let limit = parameters.limit ?? 100
            guard (1...1000).contains(limit) else { throw APIError.invalidQuery(QueryError("limit must be between 1 and 1000")) }
            let statuses = try Self.statuses(parameters.status)
            guard try await hub.store.deviceStatus(named: device) != nil else { throw APIError.notFound }
            return CommandList(commands: try await hub.store.commands(device: device, statuses: statuses, limit: limit))
        }
        router.get("/v1/commands/{id}") { request, context -> Response in
            try await hub.requireReader(request, context)
            guard let record = try await hub.store.command(id: try context.parameters.require("id")) else { throw APIError.notFound }
            return WireResponseEncoder.response(record)
        }
        router.delete("/v1/commands/{id}") { request, context -> Response in
            try await hub.requireController(request, context)
            let id = try context.parameters.require("id")
            guard try await hub.store.command(id: id) != nil else { throw APIError.notFound }
            let record = try await Self.answering { try await hub.commands.change(CommandChange(id: id, device: nil, event: .cancel)) }
            // Nil only if it was deleted with its device meanwhile.
            guard let record else { throw APIError.notFound }
            return WireResponseEncoder.response(record)
        }
    }

    /// The store's refusals as the contract's answers.
    static func answering<T>(_ work: () async throws -> T) async throws -> T {
        do {
            return try await work()
        } catch let error as CommandStoreError {
            switch error {
            case .unknownDevice: throw APIError.notFound
            case .queueFull(let limit):
                throw APIError(
                    status: .conflict, code: "queue_full",
                    message: "the device has \(limit) commands not yet final (--max-queued-commands); nothing was dropped")
            case .final(let record):
                throw APIError(status: .conflict, code: "final", message: "the command is already \(record.status.rawValue)")
            }
        }
    }

    private static func statuses(_ text: String?) throws -> [CommandStatus] {
        do {
            return try CommandStatus.list(text ?? "")
        } catch {
            throw APIError.invalidQuery(QueryError("status: \(error)"))
        }
    }
}

extension CommandRequest {
    /// `parse`, a body error answered as the contract says.
    static func fromBody(_ body: JSONValue) throws(APIError) -> CommandRequest {
        do {
            return try CommandRequest.parse(body)
        } catch {
            throw APIError(status: .badRequest, code: "invalid_command", message: error.message)
        }
    }
}

struct CommandWaitParameters: Decodable {
    var wait: String?
}

struct CommandListParameters: Decodable {
    var status: String?
    var limit: Int?
}
