import Foundation
@testable import SluiceEngine
import Testing

/// The request log's writer: lines queued from many tasks all reach the file, whole
/// and in each writer's order, once `flush()` returns.
@Suite struct LineWriterTests {
    @Test func everyQueuedLineIsWrittenWholeByFlush() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sluice-lines-\(UUID().uuidString).log").path
        #expect(FileManager.default.createFile(atPath: path, contents: nil))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fd = open(path, O_WRONLY | O_APPEND)
        #expect(fd >= 0)
        defer { close(fd) }
        let writer = LineWriter(fd: fd)
        let sink = LogSink.buffered(writer)
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<8 {
                group.addTask {
                    for i in 0..<2_000 { sink.write(Array("{\"task\":\(t),\"i\":\(i)}\n".utf8)) }
                }
            }
        }
        writer.flush()
        let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 16_000)
        for t in 0..<8 {
            let mine = lines.filter { $0.hasPrefix("{\"task\":\(t),") }
            #expect(mine == (0..<2_000).map { Substring("{\"task\":\(t),\"i\":\($0)}") })
        }
    }
}
