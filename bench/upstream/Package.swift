// swift-tools-version:6.0
// A fake OpenAI-compatible upstream with realistic latency (fake-upstream), and a load
// generator for streamed answers (stream-load), for the Sluice bench (bench/latency.sh,
// bench/run.sh). Standalone: build it with its own scratch path, e.g.
//   swift build -c release --package-path bench/upstream --scratch-path bench/upstream/.build-upstream
import PackageDescription

let package = Package(
    name: "FakeUpstream",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "fake-upstream", targets: ["FakeUpstream"]),
        .executable(name: "stream-load", targets: ["StreamLoad"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .executableTarget(
            name: "FakeUpstream",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "StreamLoad",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
    ]
)
