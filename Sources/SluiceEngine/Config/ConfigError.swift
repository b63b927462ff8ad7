/// A problem in the configuration, naming the key and its line.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    /// The dotted key path (`providers.openai.api_key`), when known.
    public var path: String?
    /// The 1-based line in the file, when known.
    public var line: Int?
    /// What is wrong.
    public var message: String

    /// An error at `path` and `line`, either `nil` when unknown.
    public init(path: String?, line: Int?, _ message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    /// `PATH (line N): MESSAGE`, leaving out what is unknown.
    public var description: String {
        var prefix = ""
        if let path, !path.isEmpty { prefix += path }
        if let line { prefix += prefix.isEmpty ? "line \(line)" : " (line \(line))" }
        return prefix.isEmpty ? message : "\(prefix): \(message)"
    }
}
