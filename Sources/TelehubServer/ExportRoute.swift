import Hummingbird
import NIOCore
import TelehubCore
import TelehubStore

/// `GET /v1/export.csv?device=&metric=&from=&to=&format=ndjson`: every
/// matching reading, streamed page by page in constant memory.
struct ExportRoute {
    let hub: Hub

    func register(on router: Router<HubRequestContext>) {
        router.get("/v1/export.csv") { request, _ in
            try await hub.requireReader(request)
            let parameters = request.uri.queryParameters
            let format = try parameters["format"].map {
                guard let format = ExportFormat(rawValue: String($0)) else {
                    throw APIError.badRequest("format must be csv or ndjson")
                }
                return format
            } ?? .csv
            let filter = ExportFilter(
                devices: Self.list(parameters["device"]), metrics: Self.list(parameters["metric"]),
                from: try Self.time(parameters["from"], "from"), to: try Self.time(parameters["to"], "to"))
            let store = hub.store
            let body = ResponseBody { writer in
                try await store.export(filter, as: format) { chunk in
                    try await writer.write(ByteBuffer(string: chunk))
                }
                try await writer.finish(nil)
            }
            let filename = "telehub-export.\(format == .csv ? "csv" : "ndjson")"
            return Response(
                status: .ok,
                headers: [
                    .contentType: format.contentType, .cacheControl: "no-store",
                    .contentDisposition: "attachment; filename=\"\(filename)\"",
                ],
                body: body)
        }
    }

    static func list(_ value: Substring?) -> Set<String>? {
        guard let value, !value.isEmpty else { return nil }
        return Set(value.split(separator: ",").map(String.init))
    }

    static func time(_ value: Substring?, _ name: String) throws -> Int64? {
        guard let value, !value.isEmpty else { return nil }
        guard let time = Int64(value) else { throw APIError.badRequest("\(name) must be milliseconds since the Unix epoch") }
        return time
    }
}
