import Foundation

/// One tool call the model made, as the call record keeps it: the function's name and
/// its arguments text (per `storage.log_bodies`: whole, a length marker, or `nil`).
public struct ToolCall: Sendable, Equatable {
    /// The function's name.
    public var name: String
    /// The arguments as the model wrote them (a JSON text); `nil` when not kept (`log_bodies: hash`).
    public var arguments: String?

    /// A tool call; see the properties.
    public init(name: String, arguments: String?) {
        self.name = name
        self.arguments = arguments
    }

    /// `{"name", "arguments"}` for the call record.
    public var json: JSON {
        ["name": .string(name), "arguments": arguments.map(JSON.string) ?? .null]
    }

    /// Reads a tool call from its record form.
    public init?(json: JSON) {
        guard let name = json["name"]?.stringValue else { return nil }
        self.init(name: name, arguments: json["arguments"]?.stringValue)
    }

    /// The tool calls of choice 0 of a `chat.completion` (the choice the record keeps).
    public static func calls(in completion: JSONObject) -> [ToolCall] {
        guard let first = completion["choices"]?.arrayValue?.first,
            let calls = first["message"]?["tool_calls"]?.arrayValue
        else { return [] }
        return calls.compactMap { call in
            guard let f = call["function"], let name = f["name"]?.stringValue else { return nil }
            let args = f["arguments"]
            return ToolCall(name: name, arguments: args?.stringValue ?? args.map(\.jsonString) ?? "")
        }
    }

    /// A list as the stored column's JSON text; `nil` when empty.
    public static func encode(_ calls: [ToolCall]) -> String? {
        calls.isEmpty ? nil : JSON.array(calls.map(\.json)).jsonString
    }

    /// A list from the stored column's JSON text.
    public static func decode(_ text: String?) -> [ToolCall] {
        guard let text, let arr = (try? JSON.parse(text))?.arrayValue else { return [] }
        return arr.compactMap(ToolCall.init(json:))
    }
}

/// Rebuilds streamed tool calls from `chat.completion.chunk` deltas of choice 0: the first
/// delta of each call (by `index`) carries its name, later ones pieces of its arguments.
public struct ToolCallAccumulator: Sendable {
    private var names: [Int: String] = [:]
    private var arguments: [Int: String] = [:]

    /// An empty accumulator.
    public init() {}

    /// Notes the tool-call deltas of one chunk; returns whether it had any.
    @discardableResult
    public mutating func feed(_ chunk: JSONObject) -> Bool {
        guard let choice = chunk["choices"]?.arrayValue?.first(where: { ($0["index"]?.intValue ?? 0) == 0 }),
            let deltas = choice["delta"]?["tool_calls"]?.arrayValue
        else { return false }
        for (position, d) in deltas.enumerated() {
            let i = d["index"]?.intValue ?? position
            if let name = d["function"]?["name"]?.stringValue, !name.isEmpty { names[i, default: ""] += name }
            if let piece = d["function"]?["arguments"]?.stringValue { arguments[i, default: ""] += piece }
        }
        return true
    }

    /// The calls so far, in index order.
    public var calls: [ToolCall] {
        Set(names.keys).union(arguments.keys).sorted().map { ToolCall(name: names[$0] ?? "", arguments: arguments[$0] ?? "") }
    }
}
