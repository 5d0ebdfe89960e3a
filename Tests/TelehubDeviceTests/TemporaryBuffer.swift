import Foundation

/// A buffer path in a fresh temporary folder, for the buffer suites.
func temporaryBufferPath(_ prefix: String) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory.appendingPathComponent("buffer.sqlite").path
}
