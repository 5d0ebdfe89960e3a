public import TelehubCore

extension ReadStore {
    /// Streams every matching value as `format` lines, one page at a time, so
    /// memory stays constant whatever the export's size. The HTTP export and
    /// `telehub export` both use this.
    /// - Parameter write: receives chunks of whole lines, in order.
    public func export(
        _ filter: ExportFilter, as format: ExportFormat, pageSize: Int = 10_000,
        write: (String) async throws -> Void
    ) async throws {
        if let header = format.header { try await write(header) }
        for series in try await exportSeries(filter) {
            var after: Int64?
            while true {
                let page = try await exportPage(series, filter, after: after, limit: pageSize)
                guard let last = page.last else { break }
                var chunk = ""
                chunk.reserveCapacity(page.count * 64)
                for point in page {
                    chunk += format.line(device: series.device, metric: series.metric, ts: point.ts, value: point.value)
                }
                try await write(chunk)
                if page.count < pageSize { break }
                after = last.ts
            }
        }
    }
}
