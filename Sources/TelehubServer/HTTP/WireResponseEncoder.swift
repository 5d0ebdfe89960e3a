import Foundation
public import Hummingbird
import TelehubCore

/// How every JSON answer of the hub is written: the contract's types through
/// `JSONEncoder.wire` (sorted keys), never cached, whatever route answers.
struct WireResponseEncoder: ResponseEncoder {
    func encode(_ value: some Encodable, from request: Request, context: some RequestContext) throws -> Response {
        Self.response(value)
    }

    /// The same answer where no request context is at hand.
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let (headers, body) = json(value)
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }

    /// The headers and body of that answer, where no `Response` is made (`LoopWriteHandler`).
    static func json(_ value: some Encodable) -> (headers: HTTPFields, body: ByteBuffer) {
        // The contract's types hold only strings, integers and finite numbers,
        // so encoding cannot fail; an empty object is the last resort.
        let data = (try? JSONEncoder.wire.encode(value)) ?? Data("{}".utf8)
        return ([.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"], ByteBuffer(bytes: data))
    }
}

// The contract's answers, returned as they are by route handlers.
extension ServerMessage: ResponseEncodable {}
extension HealthAnswer: ResponseEncodable {}
extension HTTPIngestAck: ResponseEncodable {}
extension APIErrorAnswer: ResponseEncodable {}
extension SessionChange: ResponseEncodable {}
extension CommandRecord: ResponseEncodable {}
extension CommandList: ResponseEncodable {}
extension DeviceState: ResponseEncodable {}
extension VersionedState: ResponseEncodable {}
extension AlertList: ResponseEncodable {}
extension SessionState: ResponseEncodable {}
extension HistoryAnswer: ResponseEncodable {}
extension DeviceList: ResponseEncodable {}
extension DeviceStatus: ResponseEncodable {}
