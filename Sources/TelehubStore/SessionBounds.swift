/// Bounds every store keeps on dashboard sessions.
public enum SessionBounds {
    /// Most sessions one read token may hold. Logging in again past this ends
    /// the oldest, never the session just made.
    public static let maxSessionsPerToken = 100
}
