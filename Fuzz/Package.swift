// swift-tools-version:6.1
import PackageDescription

// libFuzzer targets for Telehub. A package of its own, so that the root
// package's `swift build` and `swift test` never see the fuzz executables,
// which have no `main` (libFuzzer provides it). Build and run them with
// scripts/fuzz.sh; the committed corpus is in Tests/FuzzCorpus/<target>/.
//
// Each target defines `LLVMFuzzerTestOneInput` and checks the invariants in
// FuzzInvariants, the same file that Tests/TelehubCoreTests replays the corpus with.

let fuzzSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // No top-level code: the entry point is libFuzzer's.
    .unsafeFlags(["-parse-as-library"]),
]

let core = Target.Dependency.product(name: "TelehubCore", package: "Telehub")

let package = Package(
    name: "TelehubFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Telehub", path: ".."),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    ],
    targets: [
        .target(
            name: "FuzzInvariants",
            dependencies: [core, .product(name: "TelehubAuth", package: "Telehub")],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        .executableTarget(
            name: "FuzzMessage",
            dependencies: ["FuzzInvariants", core],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzQueries",
            dependencies: [
                "FuzzInvariants", core, .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
            ],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzHeaders",
            dependencies: ["FuzzInvariants", core, .product(name: "Hummingbird", package: "hummingbird")],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzLineProtocol",
            dependencies: ["FuzzInvariants", core],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzPromQL",
            dependencies: ["FuzzInvariants", core],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzChunk",
            dependencies: [.product(name: "TelehubCodec", package: "Telehub")],
            swiftSettings: fuzzSettings
        ),
        .executableTarget(
            name: "FuzzStoreWrite",
            dependencies: [
                "FuzzInvariants", core, .product(name: "TelehubStore", package: "Telehub"),
                .product(name: "TelehubSQLite", package: "Telehub"),
            ],
            swiftSettings: fuzzSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
