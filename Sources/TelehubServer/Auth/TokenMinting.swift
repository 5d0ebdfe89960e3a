public import TelehubAuth
public import TelehubCore
public import TelehubStore

extension TokenStore {
    /// Mints a token (256 bits from the system's CSPRNG) and stores its hash.
    /// - Returns: the secret, shown once and never stored, and the record.
    public func mintToken(kind: TokenKind, device: String?, label: String?, expiresAt: Int64?) async throws
        -> (secret: TokenSecret, record: TokenRecord)
    {
        let secret = TokenSecret.generate(kind)
        let token = try NewToken(kind: kind, device: device, label: label, expiresAt: expiresAt, hash: secret.hash)
        return (secret, try await createToken(token))
    }
}
