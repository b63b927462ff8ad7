import Foundation
import SluiceCore

#if canImport(Glibc)
import Glibc
#endif

/// A blocking HTTP/1.1 client on a plain socket, for what HTTP client libraries hide:
/// pipelined requests in one write and reading responses exactly as the server sent them.
/// Blocking calls run on a thread of their own (``offThread(_:)``), never on Swift
/// concurrency's few shared threads, which the server under test needs.
final class RawHTTPConnection: @unchecked Sendable {
    struct Response: Sendable {
        var status: Int
        /// Lower-cased names.
        var headers: [String: String]
        var body: [UInt8]
        var json: JSON { (try? JSON.parse(body)) ?? .null }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    private let fd: Int32
    private var buffer: [UInt8] = []

    /// Connects to 127.0.0.1:`port`; reads give up after `timeout` seconds.
    init(port: Int, timeout: Int = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            Glibc.close(fd)
            throw Failure(description: "connect() failed: errno \(errno)")
        }
    }

    func send(_ text: String) throws {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            guard n > 0 else { throw Failure(description: "write() failed: errno \(errno)") }
            offset += n
        }
    }

    /// Reads `count` responses with `Content-Length` bodies.
    func readResponses(_ count: Int) throws -> [Response] {
        var out: [Response] = []
        while out.count < count {
            guard let end = headEnd() else {
                guard try fill() else { throw Failure(description: "connection closed after \(out.count) of \(count) responses") }
                continue
            }
            let head = String(decoding: buffer[..<end], as: UTF8.self).components(separatedBy: "\r\n")
            let status = Int(head[0].split(separator: " ")[1]) ?? 0
            var headers: [String: String] = [:]
            for line in head.dropFirst() {
                guard let colon = line.firstIndex(of: ":") else { continue }
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            let length = Int(headers["content-length"] ?? "0") ?? 0
            while buffer.count < end + 4 + length {
                guard try fill() else { throw Failure(description: "connection closed inside a body") }
            }
            out.append(Response(status: status, headers: headers, body: Array(buffer[(end + 4)..<(end + 4 + length)])))
            buffer.removeFirst(end + 4 + length)
        }
        return out
    }

    /// Everything until the server closes the connection.
    func readToEnd() throws -> [UInt8] {
        while try fill() {}
        defer { buffer = [] }
        return buffer
    }

    func close() { Glibc.close(fd) }

    /// Closes the sending side (the server reads end of stream; it may still answer).
    func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Runs `work` on a new thread and returns its result.
    func offThread<T: Sendable>(_ work: @escaping @Sendable (RawHTTPConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, any Error>) in
            let thread = Thread { cont.resume(with: Result { try work(self) }) }
            thread.start()
        }
    }

    private func headEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }

    /// Reads more; false at end of stream.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
        if n < 0 { throw Failure(description: "read() failed or timed out: errno \(errno)") }
        if n == 0 { return false }
        buffer.append(contentsOf: chunk[..<n])
        return true
    }
}
