import Hummingbird
import NIOCore
import TelehubCore
import TelehubStore

/// `GET /v1/export.csv?device=&metric=&from=&to=&format=ndjson`: every
/// matching reading, streamed page by page in constant memory.
struct ExportRoute {
    let hub: Hub

    func register(on router: Router<HubRequestContext>) {
        router.get("/v1/export.csv") { request, context in
            try await hub.requireReader(request, context)
            let parameters = try QueryDecoding.decode(ExportParameters.self, request, context)
            let query: ExportQuery
            do throws(QueryError) {
                query = try ExportQuery(parameters)
            } catch {
                throw APIError.invalidQuery(error)
            }
            let format = query.format
            let filter = ExportFilter(query)
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
}
