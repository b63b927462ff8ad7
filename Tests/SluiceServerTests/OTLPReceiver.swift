import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// A span as an OTLP collector receives it.
struct ReceivedSpan: Sendable {
    /// OTLP attribute values.
    enum Value: Sendable, Equatable {
        case string(String), bool(Bool), int(Int64), double(Double), array([Value])
    }

    var traceID = ""
    var spanID = ""
    var parentSpanID = ""
    var name = ""
    /// 1 internal, 2 server, 3 client.
    var kind = 0
    var attributes: [String: Value] = [:]
    /// 0 unset, 1 ok, 2 error.
    var statusCode = 0
    var statusMessage = ""
    var startNanos: UInt64 = 0
    var endNanos: UInt64 = 0
    /// The resource's attributes (`service.name`…).
    var resource: [String: Value] = [:]

    func string(_ key: String) -> String? { if case .string(let s) = attributes[key] { s } else { nil } }
    func int(_ key: String) -> Int? { if case .int(let i) = attributes[key] { Int(i) } else { nil } }
    func double(_ key: String) -> Double? { if case .double(let d) = attributes[key] { d } else { nil } }
    func strings(_ key: String) -> [String]? {
        guard case .array(let items) = attributes[key] else { return nil }
        return items.compactMap { if case .string(let s) = $0 { s } else { nil } }
    }
}

/// A local OTLP/HTTP trace receiver on 127.0.0.1:0: accepts `POST /v1/traces`
/// in protobuf and decodes the spans (by hand: the OTLP types of swift-otel are internal).
final class OTLPReceiver: Sendable {
    /// The spans received so far.
    final class Inbox: Sendable {
        private let spans = Mutex<[ReceivedSpan]>([])
        func add(_ more: [ReceivedSpan]) { spans.withLock { $0 += more } }
        var all: [ReceivedSpan] { spans.withLock { $0 } }
    }

    let port: Int
    private let inbox: Inbox
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    var endpoint: String { "http://127.0.0.1:\(port)" }
    var spans: [ReceivedSpan] { inbox.all }

    private init(port: Int, inbox: Inbox, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.inbox = inbox
        self.group = group
        self.task = task
    }

    static func start() async throws -> OTLPReceiver {
        let received = Inbox()
        let router = Router()
        router.post("/v1/traces") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 16 << 20)
            let spans = try OTLPDecoder.spans(fromExportRequest: Array(body.readableBytesView)[...])
            received.add(spans)
            return Response(status: .ok, headers: [.contentType: "application/x-protobuf"], body: .init(byteBuffer: ByteBuffer()))
        }
        var logger = Logger(label: "otlp-receiver")
        logger.logLevel = .error
        let (ports, cont) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in cont.yield(channel.localAddress?.port ?? 0); cont.finish() }, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], gracefulShutdownSignals: [], logger: logger))
        let task = Task { try await group.run() }
        var port = 0
        for await p in ports { port = p }
        return OTLPReceiver(port: port, inbox: received, group: group, task: task)
    }

    /// Waits until `done` holds for the spans received, or `seconds` pass; returns the spans.
    func waitFor(seconds: Double = 15, _ done: ([ReceivedSpan]) -> Bool) async -> [ReceivedSpan] {
        let until = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        while ContinuousClock.now < until {
            if done(spans) { break }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return spans
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// The protobuf wire format, as much of it as OTLP traces need.
enum OTLPDecoder {
    enum Field {
        case varint(UInt64), fixed64(UInt64), bytes(ArraySlice<UInt8>), fixed32(UInt32)
        var bytes: ArraySlice<UInt8> { if case .bytes(let b) = self { b } else { [] } }
        var string: String { String(decoding: bytes, as: UTF8.self) }
        var hex: String { bytes.map { String(format: "%02x", $0) }.joined() }
        var uint: UInt64 {
            switch self {
            case .varint(let v), .fixed64(let v): v
            case .fixed32(let v): UInt64(v)
            case .bytes: 0
            }
        }
    }

    struct DecodeError: Error {}

    /// The fields of one message, in order.
    static func fields(_ data: ArraySlice<UInt8>) throws -> [(Int, Field)] {
        var out: [(Int, Field)] = []
        var i = data.startIndex
        func varint() throws -> UInt64 {
            var value: UInt64 = 0
            var shift: UInt64 = 0
            while true {
                guard i < data.endIndex, shift < 64 else { throw DecodeError() }
                let b = data[i]
                i += 1
                value |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return value }
                shift += 7
            }
        }
        func fixed(_ n: Int) throws -> UInt64 {
            guard data.endIndex - i >= n else { throw DecodeError() }
            var v: UInt64 = 0
            for k in 0..<n { v |= UInt64(data[i + k]) << (8 * UInt64(k)) }
            i += n
            return v
        }
        while i < data.endIndex {
            let tag = try varint()
            let number = Int(tag >> 3)
            switch tag & 7 {
            case 0: out.append((number, .varint(try varint())))
            case 1: out.append((number, .fixed64(try fixed(8))))
            case 2:
                let n = Int(try varint())
                guard n >= 0, data.endIndex - i >= n else { throw DecodeError() }
                out.append((number, .bytes(data[i..<(i + n)])))
                i += n
            case 5: out.append((number, .fixed32(UInt32(try fixed(4)))))
            default: throw DecodeError()
            }
        }
        return out
    }

    /// `ExportTraceServiceRequest` → resource_spans → scope_spans → spans.
    static func spans(fromExportRequest data: ArraySlice<UInt8>) throws -> [ReceivedSpan] {
        var out: [ReceivedSpan] = []
        for (n, resourceSpans) in try fields(data) where n == 1 {
            var resource: [String: ReceivedSpan.Value] = [:]
            let members = try fields(resourceSpans.bytes)
            for (m, r) in members where m == 1 {
                resource = try attributes(try fields(r.bytes).filter { $0.0 == 1 }.map(\.1))
            }
            for (m, scopeSpans) in members where m == 2 {
                for (s, span) in try fields(scopeSpans.bytes) where s == 2 {
                    var decoded = try self.span(span.bytes)
                    decoded.resource = resource
                    out.append(decoded)
                }
            }
        }
        return out
    }

    static func span(_ data: ArraySlice<UInt8>) throws -> ReceivedSpan {
        var s = ReceivedSpan()
        var attrs: [Field] = []
        for (n, f) in try fields(data) {
            switch n {
            case 1: s.traceID = f.hex
            case 2: s.spanID = f.hex
            case 4: s.parentSpanID = f.hex
            case 5: s.name = f.string
            case 6: s.kind = Int(f.uint)
            case 7: s.startNanos = f.uint
            case 8: s.endNanos = f.uint
            case 9: attrs.append(f)
            case 15:
                for (k, v) in try fields(f.bytes) {
                    if k == 2 { s.statusMessage = v.string }
                    if k == 3 { s.statusCode = Int(v.uint) }
                }
            default: break
            }
        }
        s.attributes = try attributes(attrs)
        return s
    }

    /// `KeyValue` messages into a dictionary.
    static func attributes(_ keyValues: [Field]) throws -> [String: ReceivedSpan.Value] {
        var out: [String: ReceivedSpan.Value] = [:]
        for kv in keyValues {
            var key = ""
            var value: ReceivedSpan.Value?
            for (n, f) in try fields(kv.bytes) {
                if n == 1 { key = f.string }
                if n == 2 { value = try anyValue(f.bytes) }
            }
            out[key] = value
        }
        return out
    }

    /// `AnyValue`: string, bool, int, double or an array of those.
    static func anyValue(_ data: ArraySlice<UInt8>) throws -> ReceivedSpan.Value? {
        for (n, f) in try fields(data) {
            switch n {
            case 1: return .string(f.string)
            case 2: return .bool(f.uint != 0)
            case 3: return .int(Int64(bitPattern: f.uint))
            case 4: return .double(Double(bitPattern: f.uint))
            case 5: return .array(try fields(f.bytes).filter { $0.0 == 1 }.compactMap { try anyValue($0.1.bytes) })
            default: continue
            }
        }
        return nil
    }
}
