public import Hummingbird
import HummingbirdCore
import ServiceLifecycle
import HummingbirdTLS
import NIOCore
public import Logging
import NIOHTTP1
import TelehubCore
public import TelehubStore
import CoreMetrics

/// Builds the whole hub: routes, WebSocket ingest, the ingest actor, the live
/// hub and their services. `serve`, the tests and the benchmark all run this,
/// so they exercise the same wiring.
/// - Parameter onServerRunning: called with the bound port once listening
///   (port 0 picks a free one).
public func buildApplication(
    configuration: HubConfiguration,
    store: any TelemetryStore,
    logger: Logger = Logger(label: "telehub"),
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) throws -> some ApplicationProtocol {
    let hub = Hub(configuration: configuration, store: store)
    var services: [any Service] = [
        hub.live, hub.usage, hub.ingest, TokenWatcher(hub: hub), RetentionService(hub: hub), LayoutMigrationService(hub: hub),
        AlertService(hub: hub), WebhookDeliverer(hub: hub, wake: hub.alerts.deliveries), CommandService(hub: hub),
    ]
    if let feed = hub.feed { services.append(feed) }
    if configuration.demo { services.append(DemoFleet(hub: hub)) }
    return Application(
        router: makeRouter(hub: hub),
        server: try makeServer(hub: hub),
        // A backlog for reconnect storms: thousands of devices knock at once
        // after a restart (the kernel caps it at net.core.somaxconn).
        configuration: .init(
            address: .hostname(configuration.host, port: configuration.port), serverName: "telehub", backlog: 4096),
        services: services,
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? configuration.port) },
        logger: logger
    )
}

private func makeRouter(hub: Hub) -> Router<HubRequestContext> {
    let router = Router(context: HubRequestContext.self)
    let session = SessionRoutes(hub: hub)
    router.add(middleware: JSONErrorMiddleware())
    router.add(middleware: LoopbackHostMiddleware(hub: hub))
    router.add(middleware: LoginExchangeMiddleware(hub: hub, session: session))
    router.add(
        middleware: StaticFilesMiddleware(
            directory: hub.configuration.publicDirectory, vendorDirectory: hub.configuration.vendorDirectory))
    ReadRoutes(hub: hub).register(on: router)
    CommandRoutes(hub: hub).register(on: router)
    StateRoutes(hub: hub).register(on: router)
    StreamRoute(hub: hub).register(on: router)
    HistoryRoute(hub: hub).register(on: router)
    ExportRoute(hub: hub).register(on: router)
    IngestRoutes(hub: hub).register(on: router)
    InfluxRoutes(hub: hub).register(on: router)
    PrometheusRoutes(hub: hub).register(on: router)
    session.register(on: router)
    router.get("/metrics") { request, context in
        // Device names appear in labels: only readers may see them, but for a
        // process on this machine asking a loopback-only hub directly (not
        // through a proxy, not a page that rebound its name to 127.0.0.1).
        if !(hub.configuration.listensOnLoopbackOnly && hub.origin(request, context).isLocal) {
            try await hub.requireReader(request, context)
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: hub.metrics.render())))
    }
    let allowed: [String: [HTTPRequest.Method]] = [
        "/healthz": [.get], "/metrics": [.get], "/v1/devices": [.get], "/v1/devices/{name}": [.get], "/v1/devices/{name}/metrics/{metric}": [.get], "/v1/stream": [.get], "/v1/export.csv": [.get],
        "/v1/ingest": [.get, .post], "/v1/session": [.get, .post, .delete],
    ]
    for (path, methods) in allowed.merging(InfluxRoutes.methods, uniquingKeysWith: { $1 }).merging(PrometheusRoutes.methods, uniquingKeysWith: { $1 }) { refuseOtherMethods(on: router, path: path, allowed: methods) }
    return router
}

/// Answers 405 (not 404) for a known path with a method it does not take.
private func refuseOtherMethods(on router: Router<HubRequestContext>, path: String, allowed: [HTTPRequest.Method]) {
    let allow = allowed.map(\.rawValue).joined(separator: ", ")
    for method: HTTPRequest.Method in [.get, .post, .put, .patch, .delete] where !allowed.contains(method) {
        router.on(RouterPath(path), method: method) { _, _ -> Response in
            throw APIError(status: .methodNotAllowed, code: "method_not_allowed", headers: [.allow: allow])
        }
    }
}

private func makeServer(hub: Hub) throws -> HTTPServerBuilder {
    let configuration = hub.configuration
    let server = HTTPServerBuilder.deviceConnections(
        DeviceConnections(hub: hub), http1: http1Configuration(configuration),
        decide: { head, address in
            let uri = URI(head.uri)
            // Only /v1/ingest upgrades; anywhere else the router answers as for plain HTTP (404).
            guard uri.path == "/v1/ingest" else { return nil }
            // A name this loopback-only hub does not answer for: the router says 421.
            if hub.configuration.listensOnLoopbackOnly, !hub.origin(head, peer: address).suitsLoopbackListener {
                return nil
            }
            // Refused here, the request goes on to the router, which answers 401 or 429
            // and counts the failure (once).
            let client = ClientAddress.resolve(
                peer: address, forwardedFor: head.headers["X-Forwarded-For"], trusted: hub.configuration.trustedProxies)
            guard hub.authenticator.retryAfterMs(address: client) == nil else { return nil }
            let token = Credentials.bearer(authorization: head.headers.first(name: "authorization"))
                ?? uri.queryParameters["token"].map(String.init)
            return await hub.authenticator.identify(token, as: .device).flatMap { $0.deviceID == nil ? nil : $0 }
        },
        headTimeout: configuration.requestHeadTimeout.timeAmount,
        onHeadRefused: { hub.metrics.requestHeadsRefused.increment() })
    guard let certificate = configuration.tlsCertificatePath, let key = configuration.tlsKeyPath else { return server }
    return try .tls(server, tlsConfiguration: TLSFiles.configuration(certificate: certificate, key: key))
}

/// The request head is bounded by `maxRequestHeadBytes`: the request target
/// and every header name and value together (the decoder does not count the
/// separators), and at most 1000 header fields.
private func http1Configuration(_ configuration: HubConfiguration) -> HTTP1Channel.Configuration {
    let limit = configuration.maxRequestHeadBytes
    return HTTP1Channel.Configuration(
        httpDecoderConfiguration: .init(maxHeaderFieldSize: limit, maxHeaderListSize: limit, maxHeaderFieldCount: 1000))
}
