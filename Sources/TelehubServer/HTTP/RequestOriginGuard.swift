import CoreMetrics
import Foundation
import HTTPTypes
import Hummingbird
import NIOHTTP1
import TelehubCore

extension Hub {
    /// Who asks, from the request's head (see `RequestOrigin`).
    func origin(_ request: Request, _ context: some ClientAddressed) -> RequestOrigin {
        let headers = request.headers
        return RequestOrigin(
            peer: context.peerAddress, host: request.head.authority,
            forwarded: RequestOriginHeaders.forwarding.contains { headers[$0] != nil },
            forwardedProto: RequestOriginHeaders.firstValue(headers[RequestOriginHeaders.forwardedProto]),
            trustedProxies: configuration.trustedProxies)
    }

    /// The same for a WebSocket upgrade's head, before the router sees it.
    func origin(_ head: HTTPRequestHead, peer: String) -> RequestOrigin {
        let headers = head.headers
        return RequestOrigin(
            peer: peer, host: headers.first(name: "host"),
            forwarded: RequestOriginHeaders.forwarding.contains { headers.contains(name: $0.rawName) },
            forwardedProto: RequestOriginHeaders.firstValue(headers.first(name: "x-forwarded-proto")),
            trustedProxies: configuration.trustedProxies)
    }

    /// The client reached the hub over TLS (the `Secure` cookie and its `__Host-` name).
    func isSecure(_ request: Request, _ context: some ClientAddressed) -> Bool {
        origin(request, context).isSecure(hubServesTLS: configuration.usesTLS)
    }
}

enum RequestOriginHeaders {
    static let forwarding: [HTTPField.Name] = [
        HTTPField.Name("X-Forwarded-For")!, HTTPField.Name("Forwarded")!, HTTPField.Name("X-Real-IP")!,
    ]
    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!

    /// `https` of `https, http`: the proxy nearest the client wrote the first.
    static func firstValue(_ value: String?) -> String? {
        guard let value, value.utf8.count <= 64 else { return nil }
        return value.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) }
    }
}

/// On a hub that listens on loopback only, answers 421 to a request that
/// names another host and does not come through a trusted proxy: a web page
/// that rebinds its DNS name to 127.0.0.1 reaches the hub with its own name
/// in `Host`, and must not get the dashboard, `/healthz` or `/metrics`.
struct LoopbackHostMiddleware: RouterMiddleware {
    typealias Context = HubRequestContext
    let hub: Hub

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard hub.configuration.listensOnLoopbackOnly, !hub.origin(request, context).suitsLoopbackListener else {
            return try await next(request, context)
        }
        hub.metrics.requestsMisdirected.increment()
        throw APIError.misdirected
    }
}

extension APIError {
    static let misdirected = APIError(
        status: .misdirectedRequest, code: "misdirected_request",
        message: "this hub listens on loopback and answers requests for localhost only; "
            + "behind a proxy on another name, list the proxy in trusted-proxies")
}
