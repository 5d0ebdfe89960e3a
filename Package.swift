// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // An import is internal unless marked public: a module's API shows what it exposes.
    .enableUpcomingFeature("InternalImportsByDefault"),
    // A member is visible only from a module the file imports itself.
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "Telehub",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "telehub", targets: ["telehub"]),
        .library(name: "TelehubCore", targets: ["TelehubCore"]),
        .library(name: "TelehubDevice", targets: ["TelehubDevice"]),
        .library(name: "TelehubAuth", targets: ["TelehubAuth"]),
        .library(name: "TelehubCodec", targets: ["TelehubCodec"]),
        // For the fuzzing package in Fuzz/, which links the hub's parsers and store.
        .library(name: "TelehubStore", targets: ["TelehubStore"]),
        .library(name: "TelehubSQLite", targets: ["TelehubSQLite"]),
        .library(name: "TelehubServer", targets: ["TelehubServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-websocket", from: "1.6.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // libcrypto from the system OpenSSL: token randomness, hashing and constant-time comparison.
        .systemLibrary(
            name: "CTelehubCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        // The domain: wire messages, validation, names and token kinds. No server,
        // no database, no dependency at all, so a device app can link it.
        .target(
            name: "TelehubCore",
            swiftSettings: swiftSettings
        ),
        // Series chunks: timestamps and values compressed, bit for bit. No
        // database and no dependency: the store keeps the bytes, this module
        // knows what they mean.
        .target(
            name: "TelehubCodec",
            swiftSettings: swiftSettings
        ),
        // Hub side only: minting and hashing tokens and session ids with libcrypto.
        .target(
            name: "TelehubAuth",
            dependencies: ["TelehubCore", "CTelehubCrypto"],
            swiftSettings: swiftSettings
        ),
        // What the hub asks of a database, role by role (ingest, reads, tokens,
        // devices, alerts, maintenance, the shared stream), and the records that
        // cross it. Protocols and values only: no database.
        .target(
            name: "TelehubStore",
            dependencies: ["TelehubCore"],
            swiftSettings: swiftSettings
        ),
        // The embedded default store: one SQLite file through GRDB, values in
        // compressed chunks (TelehubCodec).
        .target(
            name: "TelehubSQLite",
            dependencies: [
                "TelehubCore",
                "TelehubCodec",
                "TelehubStore",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The same store on a PostgreSQL server, for several hub instances on one database.
        .target(
            name: "TelehubPostgres",
            dependencies: [
                "TelehubCore",
                "TelehubStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The hub: HTTP routes, WebSocket ingest, the ingest actor, the live hub, static files.
        .target(
            name: "TelehubServer",
            dependencies: [
                "TelehubCore",
                "TelehubAuth",
                "TelehubStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "WSCore", package: "swift-websocket"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The device SDK: a client with a durable buffer; no server dependency.
        .target(
            name: "TelehubDevice",
            dependencies: [
                "TelehubCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                // The WebSocket client itself, not Hummingbird's re-exports of it: a
                // device app links no server library (TLS for wss is BoringSSL,
                // built into NIOSSL; no system OpenSSL).
                .product(name: "WSClient", package: "swift-websocket"),
                .product(name: "WSCompression", package: "swift-websocket"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                // For asking the hub why an upgrade failed (UpgradeProbe).
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // An example device app in devices/swift: it depends on the SDK alone,
        // and a black-box test checks what it links.
        .executableTarget(
            name: "sensor-example",
            dependencies: ["TelehubDevice"],
            path: "devices/swift",
            swiftSettings: swiftSettings
        ),
        // Every benchmark and what measures it: the store against the row layout
        // it replaced, PostgreSQL insert methods, the stream's hand-written JSON,
        // and `--ingest`/`--scale-out`, a load generator over raw NIO sockets
        // against hubs started as child processes, measured from /proc.
        .target(
            name: "TelehubBench",
            dependencies: [
                "TelehubCore",
                "TelehubDevice",
                "TelehubAuth",
                "TelehubStore",
                "TelehubSQLite",
                "TelehubPostgres",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The `telehub` executable: argument parsing only.
        .executableTarget(
            name: "telehub",
            dependencies: [
                "TelehubCore",
                "TelehubAuth",
                "TelehubStore",
                "TelehubSQLite",
                "TelehubPostgres",
                "TelehubServer",
                "TelehubDevice",
                "TelehubBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TelehubCoreTests",
            // TelehubAuth for the fuzz invariants of session cookies (FuzzInvariants.swift).
            dependencies: ["TelehubCore", "TelehubAuth"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TelehubCodecTests",
            dependencies: ["TelehubCodec", "TelehubCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TelehubAuthTests",
            dependencies: ["TelehubAuth", "TelehubCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TelehubStoreTests",
            dependencies: [
                "TelehubCore", "TelehubStore", "TelehubSQLite", "TelehubPostgres", "TelehubAuth", "TelehubCodec",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TelehubDeviceTests",
            dependencies: ["TelehubDevice", "TelehubCore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TelehubServerTests",
            dependencies: [
                "TelehubCore",
                "TelehubStore",
                "TelehubSQLite",
                "TelehubPostgres",
                "TelehubServer",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "WSCore", package: "swift-websocket"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
