import Foundation
import Testing

@testable import SluiceEngine

/// Freed heap goes back to the system when trimmed (glibc keeps it mapped otherwise).
@Suite struct MemoryTrimmerTests {
    static func rssKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return 0 }
        return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/status")))
    func aTrimReturnsFreedHeap() async throws {
        // 160 MiB in small blocks (below mmap's threshold, so they live in the heap), touched, then freed.
        var blocks: [UnsafeMutableRawPointer] = []
        for _ in 0..<(160 << 10) {
            let p = malloc(1000)!
            memset(p, 1, 1000)
            blocks.append(p)
        }
        // Keep one late block so the heap's top cannot shrink on its own.
        let pin = malloc(1000)!
        for p in blocks { free(p) }
        blocks = []
        let before = Self.rssKiB()
        MemoryTrimmer.trim()
        let after = Self.rssKiB()
        free(pin)
        #expect(before - after > 100 << 10, "RSS \(before) KiB before the trim, \(after) KiB after")
    }
}
