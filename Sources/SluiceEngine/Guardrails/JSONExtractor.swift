import Foundation
import SluiceCore

/// Finds the JSON in a model's answer: the whole text, a fenced ```json block,
/// or the first balanced object or array in prose.
public enum JSONExtractor {
    /// The JSON value found and the text it came from, or `nil` when there is none.
    public static func extract(_ text: String) -> (value: JSON, source: String)? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if let v = try? JSON.parse(trimmed), v.objectValue != nil || v.arrayValue != nil { return (v, trimmed) }
        for block in fencedBlocks(text) {
            if let v = try? JSON.parse(block) { return (v, block) }
        }
        var search = Substring(text)
        while let start = search.firstIndex(where: { $0 == "{" || $0 == "[" }) {
            if let candidate = balanced(from: start, in: search), let v = try? JSON.parse(String(candidate)) {
                return (v, String(candidate))
            }
            search = search[search.index(after: start)...]
        }
        return nil
    }

    /// The contents of ``` fences (```json first), trimmed.
    static func fencedBlocks(_ text: String) -> [String] {
        var out: [(Bool, String)] = []
        var rest = Substring(text)
        while let open = rest.range(of: "```") {
            let afterOpen = rest[open.upperBound...]
            let lineEnd = afterOpen.firstIndex(of: "\n") ?? afterOpen.endIndex
            let tag = afterOpen[..<lineEnd].trimmingCharacters(in: .whitespaces).lowercased()
            let body = afterOpen[lineEnd...]
            guard let close = body.range(of: "```") else { break }
            out.append((tag == "json", body[..<close.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)))
            rest = body[close.upperBound...]
        }
        return out.filter(\.0).map(\.1) + out.filter { !$0.0 }.map(\.1)
    }

    /// The balanced `{…}` or `[…]` starting at `start`, skipping brackets inside strings.
    static func balanced(from start: Substring.Index, in text: Substring) -> Substring? {
        var depth = 0
        var inString = false
        var escaped = false
        var i = start
        while i < text.endIndex {
            let c = text[i]
            if inString {
                if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "\"" { inString = false }
            } else {
                switch c {
                case "\"": inString = true
                case "{", "[": depth += 1
                case "}", "]":
                    depth -= 1
                    if depth == 0 { return text[start...i] }
                default: break
                }
            }
            i = text.index(after: i)
        }
        return nil
    }
}

/// Decides whether an answer is a refusal: the provider said so (OpenAI
/// `refusal`, `finish_reason: content_filter`, which Anthropic's `stop_reason:
/// refusal` and Gemini's safety stops translate to) or the text opens with a refusal phrase.
public struct RefusalDetector: Sendable {
    /// Lowercased phrases that mark a refusal when the answer starts with one (within its first 200 characters).
    public var phrases: [String]

    /// The built-in phrases.
    public static let defaultPhrases = [
        "i'm sorry, but i can't", "i’m sorry, but i can’t", "i am sorry, but i cannot", "i cannot help with",
        "i can't help with", "i can't assist with", "i cannot assist with", "i’m not able to help with",
        "i'm not able to help with", "i won't be able to help", "as an ai language model, i cannot",
    ]

    /// The phrases as UTF-8 bytes, for the scan.
    let needles: [[UInt8]]

    /// A detector with `phrases` (the built-in list by default).
    public init(phrases: [String] = RefusalDetector.defaultPhrases) {
        self.phrases = phrases.map { $0.lowercased() }
        needles = self.phrases.map { Array($0.utf8) }.filter { !$0.isEmpty }
    }

    /// Whether a `chat.completion` is a refusal.
    public func isRefusal(_ completion: JSONObject) -> Bool {
        guard let choice = completion["choices"]?.arrayValue?.first else { return false }
        if choice["finish_reason"]?.stringValue == "content_filter" { return true }
        if let r = choice["message"]?["refusal"]?.stringValue, !r.isEmpty { return true }
        return isRefusal(text: choice["message"]?["content"]?.stringValue ?? "")
    }

    /// Whether `text` opens with a refusal phrase: its first 200 characters,
    /// lowercased and trimmed, start with one or hold one after ". ".
    /// Runs on every answer, so it scans bytes instead of searching strings.
    public func isRefusal(text: String) -> Bool {
        guard !needles.isEmpty, !text.isEmpty else { return false }
        let head = Array(String(text.prefix(200)).lowercased().utf8)
        var start = 0
        var end = head.count
        while start < end, Self.isSpace(head[start]) { start += 1 }
        while end > start, Self.isSpace(head[end - 1]) { end -= 1 }
        func matches(at i: Int) -> Bool {
            for n in needles where n.count <= end - i {
                var j = 0
                while j < n.count, head[i + j] == n[j] { j += 1 }
                if j == n.count { return true }
            }
            return false
        }
        if matches(at: start) { return true }
        var i = start
        while i + 1 < end {
            if head[i] == 0x2E, head[i + 1] == 0x20, matches(at: i + 2) { return true }
            i += 1
        }
        return false
    }

    /// ASCII whitespace and newlines.
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 || b == 0x0B || b == 0x0C }
}
