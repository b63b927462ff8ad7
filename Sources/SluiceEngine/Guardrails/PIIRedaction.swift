import Foundation
import SluiceCore

/// The placeholders of one call: each distinct value found gets a stable
/// placeholder (`<EMAIL_1>`), the same value the same placeholder, so the model
/// can still refer to it; the answer's placeholders are swapped back for the app.
public struct PIIRedaction: Sendable {
    /// Placeholder → original.
    public private(set) var originals: [String: String] = [:]
    private var placeholders: [String: String] = [:]
    private var counts: [PIIDetector.Kind: Int] = [:]
    /// The kinds found, in order of first appearance.
    public private(set) var kinds: [PIIDetector.Kind] = []
    let detector = PIIDetector()

    /// An empty redaction.
    public init() {}

    /// `text` with every match replaced by its placeholder.
    public mutating func redact(_ text: String) -> String {
        let matches = detector.matches(in: text)
        guard !matches.isEmpty else { return text }
        var out = ""
        var cursor = text.startIndex
        for m in matches {
            out += text[cursor..<m.range.lowerBound]
            out += placeholder(for: m)
            cursor = m.range.upperBound
        }
        out += text[cursor...]
        return out
    }

    private mutating func placeholder(for m: PIIDetector.Match) -> String {
        if let p = placeholders[m.value] { return p }
        let n = (counts[m.kind] ?? 0) + 1
        counts[m.kind] = n
        if !kinds.contains(m.kind) { kinds.append(m.kind) }
        let p = "<\(m.kind.rawValue)_\(n)>"
        placeholders[m.value] = p
        originals[p] = m.value
        return p
    }

    /// The chat messages with every text redacted (string contents and text parts; tool-call arguments too).
    public mutating func redact(messages: [JSON]) -> [JSON] {
        messages.map { m in
            guard var o = m.objectValue else { return m }
            if let s = o["content"]?.stringValue {
                o["content"] = .string(redact(s))
            } else if let parts = o["content"]?.arrayValue {
                o["content"] = .array(parts.map { part in
                    guard var p = part.objectValue, let t = p["text"]?.stringValue else { return part }
                    p["text"] = .string(redact(t))
                    return .object(p)
                })
            }
            if let calls = o["tool_calls"]?.arrayValue { o["tool_calls"] = .array(Self.mapArguments(calls) { redact($0) }) }
            return .object(o)
        }
    }

    /// Tool calls with `transform` applied to each one's `function.arguments` text.
    static func mapArguments(_ calls: [JSON], _ transform: (String) -> String) -> [JSON] {
        calls.map { call in
            guard var c = call.objectValue, var f = c["function"]?.objectValue, let a = f["arguments"]?.stringValue else { return call }
            f["arguments"] = .string(transform(a))
            c["function"] = .object(f)
            return .object(c)
        }
    }

    /// Whether anything was found.
    public var isEmpty: Bool { originals.isEmpty }

    /// `text` with placeholders swapped back.
    public func restore(_ text: String) -> String {
        guard !originals.isEmpty, text.contains("<") else { return text }
        var out = text
        for (p, v) in originals where out.contains(p) { out = out.replacingOccurrences(of: p, with: v) }
        return out
    }

    /// A `chat.completion` body with placeholders restored in contents and tool-call arguments.
    public func restore(completion: JSONObject) -> JSONObject {
        guard !originals.isEmpty else { return completion }
        var c = completion
        c["choices"] = .array((completion["choices"]?.arrayValue ?? []).map { choice in
            guard var ch = choice.objectValue, var msg = ch["message"]?.objectValue else { return choice }
            if let s = msg["content"]?.stringValue { msg["content"] = .string(restore(s)) }
            if let calls = msg["tool_calls"]?.arrayValue { msg["tool_calls"] = .array(Self.mapArguments(calls) { restore($0) }) }
            ch["message"] = .object(msg)
            return .object(ch)
        })
        return c
    }
}

/// Restores placeholders in a stream of text pieces, holding back a piece that
/// ends inside a possible placeholder until it is complete.
public struct PlaceholderRestorer: Sendable {
    let redaction: PIIRedaction
    private var held = ""

    /// A restorer for `redaction`'s placeholders.
    public init(_ redaction: PIIRedaction) { self.redaction = redaction }

    /// The text to send now for `piece`.
    public mutating func feed(_ piece: String) -> String {
        let text = held + piece
        held = ""
        if let open = text.lastIndex(of: "<"), !text[open...].contains(">"), text.distance(from: open, to: text.endIndex) <= 24 {
            held = String(text[open...])
            return redaction.restore(String(text[..<open]))
        }
        return redaction.restore(text)
    }

    /// What is still held, restored.
    public mutating func finish() -> String {
        defer { held = "" }
        return redaction.restore(held)
    }
}
