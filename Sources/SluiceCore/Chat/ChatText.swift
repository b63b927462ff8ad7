/// Reads text out of OpenAI-shaped messages and responses.
public enum ChatText {
    /// The text of a message `content`: a string, or the `text` of its text parts.
    public static func content(_ value: JSON?) -> String {
        if let s = value?.stringValue { return s }
        guard let parts = value?.arrayValue else { return "" }
        var out = ""
        for part in parts {
            if let t = part["text"]?.stringValue { out += t }
        }
        return out
    }

    /// The assistant text of the first choice of a `chat.completion`.
    public static func completionText(_ response: JSONObject) -> String {
        guard let first = response["choices"]?.arrayValue?.first else { return "" }
        let message = first["message"]
        let text = content(message?["content"])
        if text.isEmpty, let calls = message?["tool_calls"], calls.arrayValue?.isEmpty == false {
            return calls.jsonString
        }
        return text
    }

    /// The finish reason of every choice of a `chat.completion` that has one.
    public static func finishReasons(of completion: JSONObject) -> [String] {
        (completion["choices"]?.arrayValue ?? []).compactMap { $0["finish_reason"]?.stringValue }
    }

    /// The text delta of choice 0 of a `chat.completion.chunk` (the choice the
    /// call record keeps, as for non-streamed answers).
    public static func chunkDelta(_ chunk: JSONObject) -> String? {
        guard let choice = chunk["choices"]?.arrayValue?.first(where: { ($0["index"]?.intValue ?? 0) == 0 }) else { return nil }
        return choice["delta"]?["content"]?.stringValue
    }
}
