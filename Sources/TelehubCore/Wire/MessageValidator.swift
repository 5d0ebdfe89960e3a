import Foundation

/// Turns the bytes of one device message into a `DeviceMessage`, or into the
/// first rejection found, with the path of the offending field. Well-formed
/// readings and batches take `DeviceMessageScanner`'s fast path; everything
/// else, and every rejection, comes from `DeviceMessage`'s `Codable` decoding
/// (`DeviceMessage+Decoding.swift`), where the checks are written out.
///
/// A message is validated whole: one bad reading rejects the whole message, so
/// a device never has to guess which part of a batch was stored.
public struct MessageValidator: Sendable {
    public var limits: IngestLimits
    /// WebSocket messages must carry `seq`; HTTP ingest may leave it out.
    public var requiresSeq: Bool

    public init(limits: IngestLimits = .init(), requiresSeq: Bool = true) {
        self.limits = limits
        self.requiresSeq = requiresSeq
    }

    /// - Parameters:
    ///   - bytes: the UTF-8 text of the message.
    ///   - now: the receive time in epoch ms; it stamps readings without `ts`
    ///     and bounds how far into the future a `ts` may lie.
    public func validate(_ bytes: some Collection<UInt8>, now: Int64) -> Result<DeviceMessage, IngestRejection> {
        let rules = DeviceMessageRules(limits: limits, requiresSeq: requiresSeq, now: now)
        let scanned = bytes.withContiguousStorageIfAvailable { DeviceMessageScanner.scan($0, rules: rules) }
        if let message = scanned ?? nil { return .success(message) }
        return decode(bytes, rules: rules)
    }

    /// The `Codable` decoding alone, without the scanner's fast path: it
    /// decides every message the scanner leaves, and the fuzz invariants
    /// compare the two.
    public func decode(_ bytes: some Collection<UInt8>, now: Int64) -> Result<DeviceMessage, IngestRejection> {
        decode(bytes, rules: DeviceMessageRules(limits: limits, requiresSeq: requiresSeq, now: now))
    }

    private func decode(_ bytes: some Collection<UInt8>, rules: DeviceMessageRules) -> Result<DeviceMessage, IngestRejection> {
        // JSON text is UTF-8 (RFC 8259 §8.1); the decoder would let invalid bytes
        // in strings through. WebSocket text frames are checked already; HTTP bodies are not.
        guard String(validating: bytes, as: UTF8.self) != nil else {
            return .failure(IngestRejection(.invalidJSON, "message is not valid UTF-8"))
        }
        guard !JSONDepth.exceeds(bytes, limit: JSONDepth.maxDeviceMessageDepth) else {
            return .failure(IngestRejection(
                .invalidJSON, "JSON nested deeper than \(JSONDepth.maxDeviceMessageDepth) levels"))
        }
        let decoder = JSONDecoder()
        decoder.userInfo[DeviceMessageRules.userInfoKey] = rules
        do {
            return .success(try decoder.decode(DeviceMessage.self, from: Data(bytes)))
        } catch let rejection as IngestRejection {
            return .failure(rejection)
        } catch {
            // Checks throw rejections; what the decoder itself throws is bad syntax.
            return .failure(IngestRejection(.invalidJSON, "message is not valid JSON"))
        }
    }

    public func validate(_ text: String, now: Int64) -> Result<DeviceMessage, IngestRejection> {
        validate(text.utf8, now: now)
    }
}
