/// Removes secrets from text that came from outside (upstream error messages)
/// before it reaches a client, a log line or the call log.
public enum SecretScrubber {
    /// `text` with each of `known` and every `sk-…`-style token replaced by `[redacted]`.
    public static func scrub(_ text: String, known: [String] = []) -> String {
        var out = text
        for secret in known where secret.count >= 8 {
            out = out.replacingOccurrences(of: secret, with: "[redacted]")
        }
        guard out.contains("sk-") else { return out }
        var result = ""
        var rest = Substring(out)
        while let r = rest.range(of: "sk-") {
            result += rest[rest.startIndex..<r.lowerBound]
            var end = r.upperBound
            while end < rest.endIndex, rest[end].isLetter || rest[end].isNumber || "-_*".contains(rest[end]) {
                end = rest.index(after: end)
            }
            result += rest.distance(from: r.upperBound, to: end) >= 6 ? "[redacted]" : String(rest[r.lowerBound..<end])
            rest = rest[end...]
        }
        return result + rest
    }
}
