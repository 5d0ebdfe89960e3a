/// Bounds every store keeps on dashboard sessions.
public enum SessionBounds {
    /// Most sessions one read token may hold; logging in again past this ends its oldest.
    public static let maxSessionsPerToken = 100
}
