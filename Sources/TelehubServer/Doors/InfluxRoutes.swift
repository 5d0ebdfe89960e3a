import CompressNIO
import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdCore
import NIOCore
import TelehubCore

/// The InfluxDB door (contract v1.2): line-protocol writes as InfluxDB 1.x
/// and 2.x take them, so Telegraf, Home Assistant, Node-RED and the InfluxDB
/// client libraries write to Telehub unchanged, with a device token.
///
/// A body is one ingest message: parsed whole and checked against the same
/// bounds before anything is stored, committed by the ingest actor like any
/// other, answered 204 only after the commit.
struct InfluxRoutes {
    let hub: Hub

    /// What `/ping` announces. Clients read it to pick the 1.x or 2.x API;
    /// both write paths are here, so the 1.x value keeps the older ones happy.
    static let version = "1.8.10"
    static let versionHeader = HTTPField.Name("X-Influxdb-Version")!

    func register(on router: Router<HubRequestContext>) {
        for path in ["/write", "/api/v2/write"] {
            router.post(RouterPath(path)) { request, context in
                await Self.answering { try await write(request, context) }
            }
        }
        router.get("/ping") { _, _ in Self.pong() }
        router.head("/ping") { _, _ in Self.pong() }
        router.get("/query") { request, context in await query(request, context) }
        router.post("/query") { request, context in await query(request, context) }
    }

    /// The paths and methods, for the router's 405s.
    static let methods: [String: [HTTPRequest.Method]] = [
        "/write": [.post], "/api/v2/write": [.post], "/ping": [.get, .head], "/query": [.get, .post],
    ]

    private static func pong() -> Response {
        Response(status: .noContent, headers: [versionHeader: version])
    }

    // MARK: - Writes

    private func write(_ request: Request, _ context: HubRequestContext) async throws -> Response {
        let identity = try await hub.requireDevice(request, context, credential: Credentials.influx)
        let device = identity.deviceName ?? ""
        let precisionText = request.uri.queryParameters["precision"].map(String.init) ?? "ns"
        guard let precision = LineProtocol.Precision(precisionText) else {
            throw InfluxError.invalid("precision \(JSONText.quoted(String(precisionText.prefix(20)))): one of n, ns, u, us, ms, s, m, h")
        }
        let body = try await lineProtocol(request)
        let now = EpochClock.nowMs()
        let readings: [Reading]
        do {
            readings = try LineProtocol.parse(body.readableBytesView, precision: precision, now: now, limits: hub.configuration.limits)
        } catch {
            hub.metrics.rejected(device: device, reason: error.isTooLarge ? "batch_too_large" : "invalid_message")
            throw InfluxError(status: error.isTooLarge ? .contentTooLarge : .badRequest, message: error.description)
        }
        // Nothing with a value (an empty body, comments, only strings): nothing to store.
        // Home Assistant writes an empty body at start to test the credentials.
        guard !readings.isEmpty else { return Response(status: .noContent) }
        switch await hub.submit(IngestMessage(seq: nil, readings: readings), identity: identity, now: now) {
        case .committed:
            return Response(status: .noContent)
        case .rejected(let rejection):
            hub.metrics.rejected(device: device, reason: rejection.code.rawValue)
            throw InfluxError(rejection)
        }
    }

    /// The body, inflated when it is gzip, either way at most `maxMessageBytes`.
    private func lineProtocol(_ request: Request) async throws -> ByteBuffer {
        let limit = hub.configuration.limits.maxMessageBytes
        var request = request
        var body = try await request.collectBody(upTo: limit)
        switch request.headers[.contentEncoding]?.lowercased().trimmingCharacters(in: .whitespaces) {
        case nil, "", "identity":
            return body
        case "gzip":
            do {
                return try body.decompress(with: .gzip(), maxSize: limit)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                throw InfluxError(status: .contentTooLarge, message: "the body inflates to more than \(limit) bytes")
            } catch {
                throw InfluxError.invalid("the body is not valid gzip")
            }
        case let other?:
            throw InfluxError(
                status: .unsupportedMediaType, message: "Content-Encoding \(JSONText.quoted(String(other.prefix(40)))): only gzip")
        }
    }

    // MARK: - Queries

    /// The statements clients send at start (`CREATE DATABASE`, `SHOW
    /// DATABASES`), answered as InfluxDB 1.x would. Telehub has one
    /// "database", the hub; anything else is a 400, for reads go through
    /// the Prometheus door or `/v1`.
    private func query(_ request: Request, _ context: HubRequestContext) async -> Response {
        do {
            _ = try await hub.requireDevice(request, context, credential: Credentials.influx)
            let text = try await statementText(request)
            let results = try InfluxStatements.answer(text)
            return WireResponseEncoder.response(InfluxQueryAnswer(results: results))
        } catch {
            let answer = InfluxError(error)
            var response = WireResponseEncoder.response(InfluxQueryError(error: answer.message), status: answer.status)
            response.headers.append(contentsOf: answer.headers)
            return response
        }
    }

    /// `q` from the query string, or from a form body (POST).
    private func statementText(_ request: Request) async throws -> String {
        guard let q = try await FormParameters(request)["q"] else { throw InfluxError.invalid("missing required parameter \"q\"") }
        return q
    }

    /// Runs `work`, answering its error with InfluxDB's JSON body, `{"code","message"}`.
    private static func answering(_ work: () async throws -> Response) async -> Response {
        do {
            return try await work()
        } catch {
            return InfluxError(error).response()
        }
    }
}
