import Foundation
import Logging
import SluiceCore

/// A swift-log handler that writes one JSON object per line:
/// `{"ts","level","label","msg",…metadata}`.
public struct JSONLogHandler: LogHandler {
    /// Metadata added to every line.
    public var metadata: Logger.Metadata = [:]
    /// The lowest level written; default `info`.
    public var logLevel: Logger.Level = .info
    let label: String
    let sink: LogSink
    /// Where the per-call lines (`"log":"call"`) go; `nil` sends them to `sink` too.
    let callSink: LogSink?

    /// A handler labelled `label` that writes to `sink` (standard error by default);
    /// with `callSink`, the request log (one line per call) goes there instead,
    /// apart from the background log (start-up, writers, workers, sweepers, alerts).
    public init(label: String, sink: LogSink = .standardError, callSink: LogSink? = nil) {
        self.label = label
        self.sink = sink
        self.callSink = callSink
    }

    /// One handler metadata value.
    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Writes `event` as one JSON line, splicing ``LogFields`` in as typed members.
    public func log(event: LogEvent) {
        if let line = fieldsLine(event) {
            if let callSink, line.isCall { callSink.write(line.bytes) } else { sink.write(line.bytes) }
            return
        }
        var obj = JSONObject()
        obj["ts"] = .string(Self.timestamp())
        obj["level"] = .string(event.level.rawValue)
        obj["label"] = .string(label)
        obj["msg"] = .string(event.message.description)
        for key in metadata.keys.sorted() { obj[key] = Self.json(metadata[key]!) }
        if let extra = event.metadata {
            for key in extra.count > 1 ? extra.keys.sorted() : Array(extra.keys) {
                let value = extra[key]!
                if case .stringConvertible(let c) = value, let fields = c as? LogFields {
                    obj.merge(fields.object)
                } else {
                    obj[key] = Self.json(value)
                }
            }
        }
        var line = JSON.object(obj).serialized()
        line.append(0x0A)
        if let callSink, obj["log"] == .string("call") { callSink.write(line) } else { sink.write(line) }
    }

    /// The common shape of a request-log line (one ``LogFields`` value, no handler
    /// metadata), written straight into bytes: the same line as the general path,
    /// without building and merging an object first. `nil` for any other event.
    private func fieldsLine(_ event: LogEvent) -> (bytes: [UInt8], isCall: Bool)? {
        guard metadata.isEmpty, let extra = event.metadata, extra.count == 1,
            case .stringConvertible(let c) = extra.first!.value, let fields = (c as? LogFields)?.object,
            !fields.contains(where: { Self.baseKeys.contains($0.key) })
        else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(512)
        out.append(contentsOf: #"{"ts":"#.utf8)
        JSON.writeString(Self.timestamp(), to: &out)
        out.append(contentsOf: #","level":"#.utf8)
        JSON.writeString(event.level.rawValue, to: &out)
        out.append(contentsOf: #","label":"#.utf8)
        JSON.writeString(label, to: &out)
        out.append(contentsOf: #","msg":"#.utf8)
        JSON.writeString(event.message.description, to: &out)
        for (key, value) in fields {
            out.append(UInt8(ascii: ","))
            JSON.writeString(key, to: &out)
            out.append(UInt8(ascii: ":"))
            value.write(to: &out)
        }
        out.append(contentsOf: [UInt8(ascii: "}"), 0x0A])
        return (out, fields["log"] == .string("call"))
    }

    private static let baseKeys: Set<String> = ["ts", "level", "label", "msg"]

    static func json(_ value: Logger.Metadata.Value) -> JSON {
        switch value {
        case .string(let s): return .string(s)
        case .stringConvertible(let c):
            if let i = c as? Int { return .int(i) }
            if let d = c as? Double { return .double(d) }
            if let b = c as? Bool { return .bool(b) }
            return .string(c.description)
        case .array(let a): return .array(a.map(json))
        case .dictionary(let d): return .object(JSONObject(d.keys.sorted().map { ($0, json(d[$0]!)) }))
        }
    }

    static func timestamp() -> String { Timestamp.iso8601(Date()) }
}

/// Where log lines go: a file descriptor (one `write(2)` per line), a
/// ``LineWriter`` (written off the caller's thread) or, in tests, a closure.
public struct LogSink: Sendable {
    let fd: Int32
    let custom: (@Sendable ([UInt8]) -> Void)?
    /// Standard error (fd 2).
    public static let standardError = LogSink(fd: 2, custom: nil)
    /// Standard output (fd 1).
    public static let standardOutput = LogSink(fd: 1, custom: nil)

    /// Standard output through a ``LineWriter``: lines are written by a thread of their
    /// own (in one `write(2)` per batch), never by the caller; flush `writer` before exit.
    public static func buffered(_ writer: LineWriter) -> LogSink {
        LogSink(fd: -1, custom: { writer.enqueue($0) })
    }

    /// A sink that hands each line to `handler`.
    public static func closure(_ handler: @escaping @Sendable ([UInt8]) -> Void) -> LogSink {
        LogSink(fd: -1, custom: handler)
    }

    func write(_ bytes: [UInt8]) {
        if let custom { return custom(bytes) }
        LineWriter.writeAll(fd, bytes)
    }
}

/// Log fields that are already JSON: the JSON handler splices them into the
/// line as typed members; other handlers print them as a JSON string.
public struct LogFields: CustomStringConvertible, Sendable {
    /// The fields.
    public let object: JSONObject
    /// Wraps fields that are already JSON.
    public init(_ object: JSONObject) { self.object = object }
    /// The fields as a JSON object string.
    public var description: String { JSON.object(object).jsonString }
}
