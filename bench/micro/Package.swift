// swift-tools-version: 6.1
// Micro-benchmarks of the pieces on Sluice's request path (ordo-one/benchmark).
// A package of its own, so the main build and `swift test` never compile them.
// Run: cd bench/micro && swift package --disable-sandbox benchmark
import Foundation
import PackageDescription

/// SwiftPM names a local package after its directory: the checkout's, whatever it is called.
let sluice = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().lastPathComponent.lowercased()

let package = Package(
    name: "sluice-micro",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "HotPath",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "SluiceEngine", package: sluice),
            ],
            path: "Benchmarks/HotPath",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        )
    ]
)
