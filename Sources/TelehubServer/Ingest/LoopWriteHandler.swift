import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import NIOCore
import NIOHTTPTypes
import TelehubCore

/// Line-protocol writes (`/write`, `/api/v2/write`) answered on the
/// connection's event loop, as device connections are: the token checked in
/// place, the lines parsed on the loop, the message handed to the ingest
/// actor in the loop's batch, and the answer written when the commit's
/// outcome comes back. The router's path (the connection's task, the
/// request's hops to the actor and back) cost a 100-line write about 450 µs
/// of CPU more than the same values over a device WebSocket.
///
/// The loop answers only what it can answer exactly as the router would: a
/// write with a live device token and a body that parses, or a refusal of the
/// ingest actor (rate, overload, series). Anything else (no token or a wrong
/// one, a bad body, a `Host` a loopback hub refuses, a chunked body, a store
/// that cannot look tokens up in place) goes to the router whole, which
/// answers it and counts it as before. `LoopWriteOrder` keeps HTTP/1.1's
/// answer order between the two.
final class LoopWriteHandler: ChannelDuplexHandler, RemovableChannelHandler, LoopIngestSource {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    static let paths: Set<Substring> = ["/write", "/api/v2/write"]

    private let hub: Hub
    private let loop: LoopConnections
    private let peer: String
    private var order = LoopWriteOrder()
    private var context: ChannelHandlerContext?
    /// The loop's request, while it is collected and answered.
    private var head: HTTPRequest?
    private var body = ByteBuffer()
    private var device = ""
    /// Parts that came while the loop's answer was pending, in order.
    private var held: [HTTPRequestPart] = []
    /// A read was asked for while the loop's answer was pending.
    private var readWaiting = false
    private var answering = false
    /// Between a read and its `channelReadComplete`: parts passed on now reach
    /// the router with that batch; passed on later, they need one of their own.
    private var inReadCycle = false

    init(hub: Hub, loop: LoopConnections, peer: String) {
        self.hub = hub
        self.loop = loop
        self.peer = peer
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    // MARK: - Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        inReadCycle = true
        route(unwrapInboundIn(data), context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inReadCycle = false
        context.fireChannelReadComplete()
    }

    private func route(_ part: HTTPRequestPart, _ context: ChannelHandlerContext) {
        let kind: LoopWriteOrder.Part
        switch part {
        case .head(let request): kind = .head(eligible: eligible(request))
        case .body: kind = .body
        case .end: kind = .end
        }
        switch order.inbound(kind) {
        case .forward:
            context.fireChannelRead(wrapInboundOut(part))
        case .hold:
            held.append(part)
        case .collect:
            switch part {
            case .head(let request):
                head = request
                body.clear()
            case .body(var bytes):
                body.writeBuffer(&bytes)
            case .end:
                break
            }
        case .answerCollected:
            answer(context)
        }
    }

    /// A write the loop may take: plainly framed (a `Content-Length` within
    /// the message bound), to a name this hub answers for.
    private func eligible(_ request: HTTPRequest) -> Bool {
        guard request.method == .post, let path = request.path,
            Self.paths.contains(path.split(separator: "?", maxSplits: 1).first ?? ""),
            let length = request.headerFields[.contentLength].flatMap(Int.init),
            length <= hub.configuration.limits.maxMessageBytes,
            request.headerFields[.transferEncoding] == nil, request.headerFields[.expect] == nil
        else { return false }
        if hub.configuration.listensOnLoopbackOnly, !origin(request).suitsLoopbackListener { return false }
        return true
    }

    private func origin(_ request: HTTPRequest) -> RequestOrigin {
        let headers = request.headerFields
        return RequestOrigin(
            peer: peer, host: request.authority,
            forwarded: RequestOriginHeaders.forwarding.contains { headers[$0] != nil },
            forwardedProto: RequestOriginHeaders.firstValue(headers[RequestOriginHeaders.forwardedProto]),
            trustedProxies: hub.configuration.trustedProxies)
    }

    // MARK: - The loop's request

    private func answer(_ context: ChannelHandlerContext) {
        guard let head, let (identity, readings, now) = accepted(head) else { return handToRouter(context) }
        answering = true
        guard let deviceID = identity.deviceID, let device = identity.deviceName, !readings.isEmpty else {
            // Nothing with a value: nothing to store (Home Assistant's start-up probe).
            write(HTTPResponse(status: .noContent), body: nil)
            return flushReplies()
        }
        self.device = device
        let source = NIOLoopBound<any LoopIngestSource>(self, eventLoop: context.eventLoop)
        let outbox = loop.outbox
        loop.gather(
            .init(deviceID: deviceID, device: device, message: IngestMessage(seq: nil, readings: readings), receivedAt: now) {
                outcome in outbox.deliver(.init(connection: source, outcome: outcome))
            }, from: self)
    }

    /// The write's device and readings when the loop can take it; nil sends it to the router.
    private func accepted(_ head: HTTPRequest) -> (TokenIdentity, [Reading], Int64)? {
        let uri = URI(head.path ?? "")
        let client = ClientAddress.resolve(
            peer: peer, forwardedFor: head.headerFields[values: .init("X-Forwarded-For")!],
            trusted: hub.configuration.trustedProxies)
        guard hub.authenticator.retryAfterMs(address: client) == nil,
            let token = Credentials.influx(headers: head.headerFields, uri: uri),
            let found = hub.authenticator.identifyNow(token, as: .device), let identity = found,
            identity.deviceID != nil, identity.deviceName != nil,
            let precision = LineProtocol.Precision(uri.queryParameters["precision"].map(String.init) ?? "ns"),
            let lines = inflated(head)
        else { return nil }
        let now = EpochClock.nowMs()
        guard let readings = try? LineProtocol.parse(lines.readableBytesView, precision: precision, now: now, limits: hub.configuration.limits)
        else { return nil }
        return (identity, readings, now)
    }

    /// The body, inflated when it is gzip; nil for anything the router answers (another encoding, bad gzip, too large).
    private func inflated(_ head: HTTPRequest) -> ByteBuffer? {
        switch head.headerFields[.contentEncoding]?.lowercased().trimmingCharacters(in: .whitespaces) {
        case nil, "", "identity":
            return body
        case "gzip":
            var compressed = body
            return try? compressed.decompress(with: .gzip(), maxSize: hub.configuration.limits.maxMessageBytes)
        default:
            return nil
        }
    }

    /// The router answers this request after all, as it would have from the start.
    private func handToRouter(_ context: ChannelHandlerContext) {
        order.handedToRouter()
        if let head { context.fireChannelRead(wrapInboundOut(.head(head))) }
        if body.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(.body(body))) }
        context.fireChannelRead(wrapInboundOut(.end(nil)))
        head = nil
        body.clear()
        releaseHeld(context)
    }

    // MARK: - LoopIngestSource

    func handedOff() {}

    func completed(_ outcome: IngestActor.Outcome) -> Bool {
        guard answering else { return false }
        switch outcome {
        case .committed:
            write(HTTPResponse(status: .noContent), body: nil)
        case .rejected(let rejection):
            hub.metrics.rejected(device: device, reason: rejection.code.rawValue)
            let (response, bytes) = InfluxError(rejection).answer()
            write(response, body: bytes)
        }
        return true
    }

    func flushReplies() {
        guard answering, let context else { return }
        answering = false
        context.flush()
        head = nil
        body.clear()
        order.ownAnswered()
        releaseHeld(context)
    }

    // MARK: - Outbound

    private func write(_ response: HTTPResponse, body: ByteBuffer?) {
        guard let context else { return }
        var response = response
        response.headerFields[.server] = "telehub"
        response.headerFields[.date] = HTTPDate.now()
        response.headerFields[.contentLength] = String(body?.readableBytes ?? 0)
        if response.status == .noContent { response.headerFields[.contentLength] = nil }
        context.write(wrapOutboundOut(.head(response)), promise: nil)
        if let body, body.readableBytes > 0 { context.write(wrapOutboundOut(.body(body)), promise: nil) }
        context.write(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// The router's answers pass here on their way out; their ends free the loop to take writes again.
    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { order.routerAnswered() }
        context.write(data, promise: promise)
    }

    /// While the loop's answer is pending nothing more is read: what came is held, the socket keeps the rest.
    func read(context: ChannelHandlerContext) {
        guard !answering, held.isEmpty else {
            readWaiting = true
            return
        }
        context.read()
    }

    private func releaseHeld(_ context: ChannelHandlerContext) {
        let released = !held.isEmpty
        while !held.isEmpty, !answering {
            route(held.removeFirst(), context)
        }
        if released, !inReadCycle { context.fireChannelReadComplete() }
        if held.isEmpty, !answering, readWaiting {
            readWaiting = false
            context.read()
        }
    }
}
