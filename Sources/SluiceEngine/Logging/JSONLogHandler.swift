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
        var members = JSONObject()
        for key in metadata.keys.sorted() { members[key] = Self.json(metadata[key]!) }
        if let extra = event.metadata {
            for key in extra.count > 1 ? extra.keys.sorted() : Array(extra.keys) {
                let value = extra[key]!
                if case .stringConvertible(let c) = value, let fields = c as? LogFields {
                    members.merge(fields.object)
                } else {
                    members[key] = Self.json(value)
                }
            }
        }
        var head: JSONObject = [
            "ts": .string(Self.timestamp()), "level": .string(event.level.rawValue), "label": .string(label),
            "msg": .string(event.message.description),
        ]
        var line: [UInt8]
        if members.contains(where: { head[$0.key] != nil }) {
            // A member named like a head field takes its place.
            head.merge(members)
            line = JSON.object(head).serialized()
        } else {
            // The usual case: the members follow the head, written straight after it.
            line = JSON.object(head).serialized()
            line.reserveCapacity(512)
            line.removeLast()
            for (key, value) in members {
                line.append(UInt8(ascii: ","))
                JSON.writeString(key, to: &line)
                line.append(UInt8(ascii: ":"))
                value.write(to: &line)
            }
            line.append(UInt8(ascii: "}"))
        }
        line.append(0x0A)
        if let callSink, members["log"] == .string("call") { callSink.write(line) } else { sink.write(line) }
    }

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
