import CTelehubCrypto

/// The few primitives tokens need, from the system OpenSSL's libcrypto.
public enum Crypto {
    /// Bytes from OpenSSL's CSPRNG. Traps if the generator is unavailable:
    /// a predictable token would be worse than no token.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let status = bytes.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        precondition(status == 1, "OpenSSL RAND_bytes failed")
        return bytes
    }

    public static func sha256(_ input: some Collection<UInt8>) -> [UInt8] {
        let message = Array(input)
        let md = EVP_sha256()
        var digest = [UInt8](repeating: 0, count: Int(EVP_MD_get_size(md)))
        var length: UInt32 = 0
        let status = message.withUnsafeBufferPointer { input in
            digest.withUnsafeMutableBufferPointer { output in
                EVP_Digest(input.baseAddress, input.count, output.baseAddress, &length, md, nil)
            }
        }
        precondition(status == 1, "OpenSSL EVP_Digest failed")
        return digest
    }

    /// HMAC-SHA256, for webhook signatures (`X-Telehub-Signature`).
    public static func hmacSHA256(key: some Collection<UInt8>, message: some Collection<UInt8>) -> [UInt8] {
        let key = Array(key)
        let message = Array(message)
        var digest = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let result = key.withUnsafeBufferPointer { key in
            message.withUnsafeBufferPointer { message in
                digest.withUnsafeMutableBufferPointer { output in
                    HMAC(EVP_sha256(), key.baseAddress, Int32(key.count), message.baseAddress, message.count, output.baseAddress, &length)
                }
            }
        }
        precondition(result != nil && length == 32, "OpenSSL HMAC failed")
        return digest
    }

    /// Compares in time independent of where the inputs differ.
    public static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return lhs.withUnsafeBytes { left in
            rhs.withUnsafeBytes { right in
                CRYPTO_memcmp(left.baseAddress, right.baseAddress, lhs.count) == 0
            }
        }
    }
}
